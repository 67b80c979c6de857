// Original file: proto/kiseki/v1/services.proto

import type { LockKind as _kiseki_v1_LockKind, LockKind__Output as _kiseki_v1_LockKind__Output } from '../../kiseki/v1/LockKind.ts';
import type { Long } from '@grpc/proto-loader';

export interface UnlockRequest {
  'ino'?: (number | string | Long);
  'kind'?: (_kiseki_v1_LockKind);
  'start'?: (number | string | Long);
  /**
   * 0 = to the end
   */
  'length'?: (number | string | Long);
  'client'?: (string);
  'owner'?: (string);
}

export interface UnlockRequest__Output {
  'ino': (number);
  'kind': (_kiseki_v1_LockKind__Output);
  'start': (number);
  /**
   * 0 = to the end
   */
  'length': (number);
  'client': (string);
  'owner': (string);
}
