// Original file: proto/kiseki/v1/services.proto

import type { NamespaceInfo as _kiseki_v1_NamespaceInfo, NamespaceInfo__Output as _kiseki_v1_NamespaceInfo__Output } from '../../kiseki/v1/NamespaceInfo.ts';

export interface ListNamespacesResponse {
  'namespaces'?: (_kiseki_v1_NamespaceInfo)[];
}

export interface ListNamespacesResponse__Output {
  'namespaces': (_kiseki_v1_NamespaceInfo__Output)[];
}
