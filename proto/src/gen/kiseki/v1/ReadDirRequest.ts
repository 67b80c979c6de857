// Original file: proto/kiseki/v1/services.proto

import type { ReadOptions as _kiseki_v1_ReadOptions, ReadOptions__Output as _kiseki_v1_ReadOptions__Output } from '../../kiseki/v1/ReadOptions.ts';
import type { Long } from '@grpc/proto-loader';

export interface ReadDirRequest {
  'ino'?: (number | string | Long);
  /**
   * resume after this entry
   */
  'afterToken'?: (Buffer | Uint8Array | string);
  'limit'?: (number);
  'read'?: (_kiseki_v1_ReadOptions | null);
}

export interface ReadDirRequest__Output {
  'ino': (number);
  /**
   * resume after this entry
   */
  'afterToken': (Buffer);
  'limit': (number);
  'read': (_kiseki_v1_ReadOptions__Output | null);
}
