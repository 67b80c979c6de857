// Original file: proto/kiseki/v1/common.proto

import type { Long } from '@grpc/proto-loader';

/**
 * One block of a file: block `index` covers bytes [index*block_size, +len).
 */
export interface BlockRef {
  'index'?: (number | string | Long);
  /**
   * empty = hole
   */
  'chunkId'?: (Buffer | Uint8Array | string);
  /**
   * plaintext length
   */
  'len'?: (number);
}

/**
 * One block of a file: block `index` covers bytes [index*block_size, +len).
 */
export interface BlockRef__Output {
  'index': (number);
  /**
   * empty = hole
   */
  'chunkId': (Buffer);
  /**
   * plaintext length
   */
  'len': (number);
}
