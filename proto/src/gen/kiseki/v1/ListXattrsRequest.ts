// Original file: proto/kiseki/v1/services.proto

import type { ReadOptions as _kiseki_v1_ReadOptions, ReadOptions__Output as _kiseki_v1_ReadOptions__Output } from '../../kiseki/v1/ReadOptions.ts';
import type { Long } from '@grpc/proto-loader';

export interface ListXattrsRequest {
  'ino'?: (number | string | Long);
  'read'?: (_kiseki_v1_ReadOptions | null);
}

export interface ListXattrsRequest__Output {
  'ino': (number);
  'read': (_kiseki_v1_ReadOptions__Output | null);
}
