// Original file: proto/kiseki/v1/services.proto

import type { Long } from '@grpc/proto-loader';

export interface WatchRequest {
  'shard'?: (string);
  'from'?: (number | string | Long);
}

export interface WatchRequest__Output {
  'shard': (string);
  'from': (number);
}
