// Original file: proto/kiseki/v1/services.proto

import type { BlockRef as _kiseki_v1_BlockRef, BlockRef__Output as _kiseki_v1_BlockRef__Output } from '../../kiseki/v1/BlockRef.ts';
import type { Attr as _kiseki_v1_Attr, Attr__Output as _kiseki_v1_Attr__Output } from '../../kiseki/v1/Attr.ts';

export interface GetBlocksResponse {
  'blocks'?: (_kiseki_v1_BlockRef)[];
  'attr'?: (_kiseki_v1_Attr | null);
}

export interface GetBlocksResponse__Output {
  'blocks': (_kiseki_v1_BlockRef__Output)[];
  'attr': (_kiseki_v1_Attr__Output | null);
}
