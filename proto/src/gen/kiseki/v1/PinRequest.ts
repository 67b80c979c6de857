// Original file: proto/kiseki/v1/services.proto


export interface PinRequest {
  'ttlMs'?: (number);
}

export interface PinRequest__Output {
  'ttlMs': (number);
}
