// Original file: proto/kiseki/v1/services.proto

import type { Long } from '@grpc/proto-loader';

export interface ReadRangeRequest {
  'shard'?: (string);
  'from'?: (number | string | Long);
  'to'?: (number | string | Long);
  'maxBytes'?: (number);
}

export interface ReadRangeRequest__Output {
  'shard': (string);
  'from': (number);
  'to': (number);
  'maxBytes': (number);
}
