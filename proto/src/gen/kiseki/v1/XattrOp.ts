// Original file: proto/kiseki/v1/delta.proto

import type { XattrMode as _kiseki_v1_XattrMode, XattrMode__Output as _kiseki_v1_XattrMode__Output } from '../../kiseki/v1/XattrMode.ts';
import type { Long } from '@grpc/proto-loader';

/**
 * Sets or removes one extended attribute. Its name and value travel sealed in the delta's
 * payload (XattrPayload); the token is an HMAC of (inode, name) under the tenant name key, so
 * the server can tell attributes apart without learning their names.
 */
export interface XattrOp {
  'ino'?: (number | string | Long);
  'nameToken'?: (Buffer | Uint8Array | string);
  'mode'?: (_kiseki_v1_XattrMode);
}

/**
 * Sets or removes one extended attribute. Its name and value travel sealed in the delta's
 * payload (XattrPayload); the token is an HMAC of (inode, name) under the tenant name key, so
 * the server can tell attributes apart without learning their names.
 */
export interface XattrOp__Output {
  'ino': (number);
  'nameToken': (Buffer);
  'mode': (_kiseki_v1_XattrMode__Output);
}
