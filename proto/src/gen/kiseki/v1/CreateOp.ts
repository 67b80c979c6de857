// Original file: proto/kiseki/v1/delta.proto

import type { FileKind as _kiseki_v1_FileKind, FileKind__Output as _kiseki_v1_FileKind__Output } from '../../kiseki/v1/FileKind.ts';
import type { Long } from '@grpc/proto-loader';

export interface CreateOp {
  'parent'?: (number | string | Long);
  /**
   * HMAC of (parent, name) under the tenant name key: opaque to the server
   */
  'nameToken'?: (Buffer | Uint8Array | string);
  'kind'?: (_kiseki_v1_FileKind);
  'mode'?: (number);
  'uid'?: (number);
  'gid'?: (number);
  /**
   * O_EXCL: fail with EXIST rather than open the existing file
   */
  'exclusive'?: (boolean);
  /**
   * assigned
   */
  'ino'?: (number | string | Long);
  /**
   * symlinks: target length (its sealed payload's length shows it anyway)
   */
  'symlinkBytes'?: (number | string | Long);
}

export interface CreateOp__Output {
  'parent': (number);
  /**
   * HMAC of (parent, name) under the tenant name key: opaque to the server
   */
  'nameToken': (Buffer);
  'kind': (_kiseki_v1_FileKind__Output);
  'mode': (number);
  'uid': (number);
  'gid': (number);
  /**
   * O_EXCL: fail with EXIST rather than open the existing file
   */
  'exclusive': (boolean);
  /**
   * assigned
   */
  'ino': (number);
  /**
   * symlinks: target length (its sealed payload's length shows it anyway)
   */
  'symlinkBytes': (number);
}
