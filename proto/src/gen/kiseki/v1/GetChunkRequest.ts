// Original file: proto/kiseki/v1/services.proto


export interface GetChunkRequest {
  'chunkId'?: (Buffer | Uint8Array | string);
}

export interface GetChunkRequest__Output {
  'chunkId': (Buffer);
}
