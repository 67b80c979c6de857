// Original file: proto/kiseki/v1/services.proto

import type { DedupPolicy as _kiseki_v1_DedupPolicy, DedupPolicy__Output as _kiseki_v1_DedupPolicy__Output } from '../../kiseki/v1/DedupPolicy.ts';
import type { Long } from '@grpc/proto-loader';

export interface TenantInfo {
  'name'?: (string);
  'dedup'?: (_kiseki_v1_DedupPolicy);
  'createdAtMs'?: (number | string | Long);
  'keyEpoch'?: (number);
  'kmsProvider'?: (string);
}

export interface TenantInfo__Output {
  'name': (string);
  'dedup': (_kiseki_v1_DedupPolicy__Output);
  'createdAtMs': (number);
  'keyEpoch': (number);
  'kmsProvider': (string);
}
