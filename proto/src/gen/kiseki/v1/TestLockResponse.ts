// Original file: proto/kiseki/v1/services.proto

import type { LockType as _kiseki_v1_LockType, LockType__Output as _kiseki_v1_LockType__Output } from '../../kiseki/v1/LockType.ts';
import type { Long } from '@grpc/proto-loader';

export interface TestLockResponse {
  'conflict'?: (boolean);
  'type'?: (_kiseki_v1_LockType);
  'start'?: (number | string | Long);
  /**
   * 0 = to the end
   */
  'length'?: (number | string | Long);
  'pid'?: (number);
}

export interface TestLockResponse__Output {
  'conflict': (boolean);
  'type': (_kiseki_v1_LockType__Output);
  'start': (number);
  /**
   * 0 = to the end
   */
  'length': (number);
  'pid': (number);
}
