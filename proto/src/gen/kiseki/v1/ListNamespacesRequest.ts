// Original file: proto/kiseki/v1/services.proto


export interface ListNamespacesRequest {
  'tenant'?: (string);
}

export interface ListNamespacesRequest__Output {
  'tenant': (string);
}
