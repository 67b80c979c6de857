// Original file: proto/kiseki/v1/common.proto


/**
 * Plaintext of one extended attribute, sealed by the client (bound to inode and token).
 */
export interface XattrPayload {
  'name'?: (string);
  'value'?: (Buffer | Uint8Array | string);
}

/**
 * Plaintext of one extended attribute, sealed by the client (bound to inode and token).
 */
export interface XattrPayload__Output {
  'name': (string);
  'value': (Buffer);
}
