// Original file: proto/kiseki/v1/services.proto

import type { Long } from '@grpc/proto-loader';

export interface RenewLockLeaseResponse {
  'epoch'?: (number | string | Long);
  'leaseMs'?: (number);
}

export interface RenewLockLeaseResponse__Output {
  'epoch': (number);
  'leaseMs': (number);
}
