// Original file: proto/kiseki/v1/services.proto

import type { Attr as _kiseki_v1_Attr, Attr__Output as _kiseki_v1_Attr__Output } from '../../kiseki/v1/Attr.ts';
import type { Long } from '@grpc/proto-loader';

export interface MutateResponse {
  'seq'?: (number | string | Long);
  /**
   * the created / changed inode after the mutation
   */
  'attr'?: (_kiseki_v1_Attr | null);
}

export interface MutateResponse__Output {
  'seq': (number);
  /**
   * the created / changed inode after the mutation
   */
  'attr': (_kiseki_v1_Attr__Output | null);
}
