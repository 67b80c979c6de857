// Original file: proto/kiseki/v1/services.proto

import type { Long } from '@grpc/proto-loader';

export interface UnpinRequest {
  'pin'?: (number | string | Long);
}

export interface UnpinRequest__Output {
  'pin': (number);
}
