// Original file: proto/kiseki/v1/services.proto

import type { Long } from '@grpc/proto-loader';

export interface LogEntry {
  'seq'?: (number | string | Long);
  'delta'?: (Buffer | Uint8Array | string);
}

export interface LogEntry__Output {
  'seq': (number);
  'delta': (Buffer);
}
