// Original file: proto/kiseki/v1/services.proto

import type { LockKind as _kiseki_v1_LockKind, LockKind__Output as _kiseki_v1_LockKind__Output } from '../../kiseki/v1/LockKind.ts';
import type { LockType as _kiseki_v1_LockType, LockType__Output as _kiseki_v1_LockType__Output } from '../../kiseki/v1/LockType.ts';
import type { Long } from '@grpc/proto-loader';

export interface LockRequest {
  'ino'?: (number | string | Long);
  'kind'?: (_kiseki_v1_LockKind);
  'type'?: (_kiseki_v1_LockType);
  'start'?: (number | string | Long);
  /**
   * 0 = to the end of the file and beyond
   */
  'length'?: (number | string | Long);
  /**
   * random per client session object; with owner, who holds the lock
   */
  'client'?: (string);
  /**
   * FUSE lock owner, or an SDK handle
   */
  'owner'?: (string);
  'pid'?: (number);
  'wait'?: (boolean);
  'reclaim'?: (boolean);
}

export interface LockRequest__Output {
  'ino': (number);
  'kind': (_kiseki_v1_LockKind__Output);
  'type': (_kiseki_v1_LockType__Output);
  'start': (number);
  /**
   * 0 = to the end of the file and beyond
   */
  'length': (number);
  /**
   * random per client session object; with owner, who holds the lock
   */
  'client': (string);
  /**
   * FUSE lock owner, or an SDK handle
   */
  'owner': (string);
  'pid': (number);
  'wait': (boolean);
  'reclaim': (boolean);
}
