// Original file: proto/kiseki/v1/services.proto


export interface HasChunksResponse {
  'present'?: (boolean)[];
}

export interface HasChunksResponse__Output {
  'present': (boolean)[];
}
