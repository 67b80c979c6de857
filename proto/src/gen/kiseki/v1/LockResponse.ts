// Original file: proto/kiseki/v1/services.proto


export interface LockResponse {
  'granted'?: (boolean);
}

export interface LockResponse__Output {
  'granted': (boolean);
}
