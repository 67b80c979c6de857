// Original file: proto/kiseki/v1/services.proto


export interface CreateTenantResponse {
  'name'?: (string);
  /**
   * shown once; the server keeps only its hash
   */
  'credential'?: (string);
}

export interface CreateTenantResponse__Output {
  'name': (string);
  /**
   * shown once; the server keeps only its hash
   */
  'credential': (string);
}
