// Original file: proto/kiseki/v1/services.proto

import type { Long } from '@grpc/proto-loader';

export interface ShardStatus {
  'shard'?: (string);
  'committed'?: (number | string | Long);
  'applied'?: (number | string | Long);
  'first'?: (number | string | Long);
}

export interface ShardStatus__Output {
  'shard': (string);
  'committed': (number);
  'applied': (number);
  'first': (number);
}
