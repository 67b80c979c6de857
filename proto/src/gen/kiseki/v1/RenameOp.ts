// Original file: proto/kiseki/v1/delta.proto

import type { Long } from '@grpc/proto-loader';

export interface RenameOp {
  'srcParent'?: (number | string | Long);
  'srcToken'?: (Buffer | Uint8Array | string);
  'dstParent'?: (number | string | Long);
  'dstToken'?: (Buffer | Uint8Array | string);
  'noreplace'?: (boolean);
  /**
   * assigned: the inode that moved
   */
  'ino'?: (number | string | Long);
  /**
   * assigned: the inode the destination pointed at, 0 if none
   */
  'replacedIno'?: (number | string | Long);
}

export interface RenameOp__Output {
  'srcParent': (number);
  'srcToken': (Buffer);
  'dstParent': (number);
  'dstToken': (Buffer);
  'noreplace': (boolean);
  /**
   * assigned: the inode that moved
   */
  'ino': (number);
  /**
   * assigned: the inode the destination pointed at, 0 if none
   */
  'replacedIno': (number);
}
