// Original file: proto/kiseki/v1/services.proto


export interface HasChunksRequest {
  'chunkIds'?: (Buffer | Uint8Array | string)[];
}

export interface HasChunksRequest__Output {
  'chunkIds': (Buffer)[];
}
