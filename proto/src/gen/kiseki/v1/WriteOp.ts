// Original file: proto/kiseki/v1/delta.proto

import type { BlockRef as _kiseki_v1_BlockRef, BlockRef__Output as _kiseki_v1_BlockRef__Output } from '../../kiseki/v1/BlockRef.ts';
import type { Timespec as _kiseki_v1_Timespec, Timespec__Output as _kiseki_v1_Timespec__Output } from '../../kiseki/v1/Timespec.ts';
import type { Long } from '@grpc/proto-loader';

/**
 * Sets a file's size and replaces the listed blocks (truncate is a WriteOp with no blocks).
 * Blocks at or past ceil(size / block_size) are dropped.
 */
export interface WriteOp {
  'ino'?: (number | string | Long);
  'size'?: (number | string | Long);
  'blocks'?: (_kiseki_v1_BlockRef)[];
  'mtime'?: (_kiseki_v1_Timespec | null);
  'blockSize'?: (number);
}

/**
 * Sets a file's size and replaces the listed blocks (truncate is a WriteOp with no blocks).
 * Blocks at or past ceil(size / block_size) are dropped.
 */
export interface WriteOp__Output {
  'ino': (number);
  'size': (number);
  'blocks': (_kiseki_v1_BlockRef__Output)[];
  'mtime': (_kiseki_v1_Timespec__Output | null);
  'blockSize': (number);
}
