// Original file: proto/kiseki/v1/delta.proto

import type { Long } from '@grpc/proto-loader';

/**
 * A new name for an existing inode that is not a directory (a hard link: nlink + 1).
 */
export interface LinkOp {
  'ino'?: (number | string | Long);
  'parent'?: (number | string | Long);
  'nameToken'?: (Buffer | Uint8Array | string);
}

/**
 * A new name for an existing inode that is not a directory (a hard link: nlink + 1).
 */
export interface LinkOp__Output {
  'ino': (number);
  'parent': (number);
  'nameToken': (Buffer);
}
