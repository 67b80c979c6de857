// Original file: proto/kiseki/v1/services.proto


export interface ReleaseChunkRequest {
  'chunkId'?: (Buffer | Uint8Array | string);
}

export interface ReleaseChunkRequest__Output {
  'chunkId': (Buffer);
}
