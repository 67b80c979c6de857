// Original file: proto/kiseki/v1/services.proto


export interface RenewLockLeaseRequest {
  'client'?: (string);
}

export interface RenewLockLeaseRequest__Output {
  'client': (string);
}
