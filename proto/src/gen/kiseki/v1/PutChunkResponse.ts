// Original file: proto/kiseki/v1/services.proto


export interface PutChunkResponse {
  'created'?: (boolean);
}

export interface PutChunkResponse__Output {
  'created': (boolean);
}
