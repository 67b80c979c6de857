// Original file: proto/kiseki/v1/services.proto

import type { ShardStatus as _kiseki_v1_ShardStatus, ShardStatus__Output as _kiseki_v1_ShardStatus__Output } from '../../kiseki/v1/ShardStatus.ts';
import type { Long } from '@grpc/proto-loader';

export interface StatusResponse {
  'nodeId'?: (string);
  'version'?: (string);
  'uptimeMs'?: (number | string | Long);
  'capacityBytes'?: (number | string | Long);
  'usedBytes'?: (number | string | Long);
  'chunks'?: (number | string | Long);
  'shards'?: (_kiseki_v1_ShardStatus)[];
  'tenants'?: (number);
}

export interface StatusResponse__Output {
  'nodeId': (string);
  'version': (string);
  'uptimeMs': (number);
  'capacityBytes': (number);
  'usedBytes': (number);
  'chunks': (number);
  'shards': (_kiseki_v1_ShardStatus__Output)[];
  'tenants': (number);
}
