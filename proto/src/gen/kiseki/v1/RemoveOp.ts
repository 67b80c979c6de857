// Original file: proto/kiseki/v1/delta.proto

import type { Long } from '@grpc/proto-loader';

export interface RemoveOp {
  'parent'?: (number | string | Long);
  'nameToken'?: (Buffer | Uint8Array | string);
  /**
   * rmdir when true, unlink otherwise
   */
  'dir'?: (boolean);
  /**
   * assigned: the inode the entry pointed at
   */
  'ino'?: (number | string | Long);
}

export interface RemoveOp__Output {
  'parent': (number);
  'nameToken': (Buffer);
  /**
   * rmdir when true, unlink otherwise
   */
  'dir': (boolean);
  /**
   * assigned: the inode the entry pointed at
   */
  'ino': (number);
}
