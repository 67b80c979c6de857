// Original file: proto/kiseki/v1/services.proto

import type { TenantInfo as _kiseki_v1_TenantInfo, TenantInfo__Output as _kiseki_v1_TenantInfo__Output } from '../../kiseki/v1/TenantInfo.ts';

export interface ListTenantsResponse {
  'tenants'?: (_kiseki_v1_TenantInfo)[];
}

export interface ListTenantsResponse__Output {
  'tenants': (_kiseki_v1_TenantInfo__Output)[];
}
