// Original file: proto/kiseki/v1/services.proto


export interface OpenSessionRequest {
  'tenant'?: (string);
  'credential'?: (string);
  'clientName'?: (string);
}

export interface OpenSessionRequest__Output {
  'tenant': (string);
  'credential': (string);
  'clientName': (string);
}
