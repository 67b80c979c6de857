// Original file: proto/kiseki/v1/services.proto


export interface PutChunkRequest {
  'chunkId'?: (Buffer | Uint8Array | string);
  'envelope'?: (Buffer | Uint8Array | string);
}

export interface PutChunkRequest__Output {
  'chunkId': (Buffer);
  'envelope': (Buffer);
}
