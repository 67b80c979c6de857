// Original file: proto/kiseki/v1/services.proto


export interface GetChunkResponse {
  'envelope'?: (Buffer | Uint8Array | string);
}

export interface GetChunkResponse__Output {
  'envelope': (Buffer);
}
