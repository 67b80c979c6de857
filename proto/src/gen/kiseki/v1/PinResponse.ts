// Original file: proto/kiseki/v1/services.proto

import type { Long } from '@grpc/proto-loader';

export interface PinResponse {
  'pin'?: (number | string | Long);
  'watermark'?: (number | string | Long);
  'expiresAtMs'?: (number | string | Long);
}

export interface PinResponse__Output {
  'pin': (number);
  'watermark': (number);
  'expiresAtMs': (number);
}
