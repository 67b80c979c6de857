// Original file: proto/kiseki/v1/common.proto


/**
 * Plaintext carried inside a sealed payload (the client seals it; the server never opens it).
 */
export interface EntryPayload {
  'name'?: (string);
  'symlinkTarget'?: (string);
}

/**
 * Plaintext carried inside a sealed payload (the client seals it; the server never opens it).
 */
export interface EntryPayload__Output {
  'name': (string);
  'symlinkTarget': (string);
}
