// Original file: proto/kiseki/v1/services.proto


export interface AppendRequest {
  'shard'?: (string);
  'deltas'?: (Buffer | Uint8Array | string)[];
}

export interface AppendRequest__Output {
  'shard': (string);
  'deltas': (Buffer)[];
}
