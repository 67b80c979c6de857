// Original file: proto/kiseki/v1/services.proto

import type { DedupPolicy as _kiseki_v1_DedupPolicy, DedupPolicy__Output as _kiseki_v1_DedupPolicy__Output } from '../../kiseki/v1/DedupPolicy.ts';

export interface CreateTenantRequest {
  'name'?: (string);
  'dedup'?: (_kiseki_v1_DedupPolicy);
}

export interface CreateTenantRequest__Output {
  'name': (string);
  'dedup': (_kiseki_v1_DedupPolicy__Output);
}
