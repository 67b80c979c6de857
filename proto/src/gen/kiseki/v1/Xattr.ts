// Original file: proto/kiseki/v1/services.proto


export interface Xattr {
  'nameToken'?: (Buffer | Uint8Array | string);
  /**
   * sealed XattrPayload
   */
  'payload'?: (Buffer | Uint8Array | string);
}

export interface Xattr__Output {
  'nameToken': (Buffer);
  /**
   * sealed XattrPayload
   */
  'payload': (Buffer);
}
