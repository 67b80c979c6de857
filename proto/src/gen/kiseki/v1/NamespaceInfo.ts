// Original file: proto/kiseki/v1/services.proto

import type { Long } from '@grpc/proto-loader';

export interface NamespaceInfo {
  'tenant'?: (string);
  'name'?: (string);
  'shard'?: (string);
  'inodes'?: (number | string | Long);
}

export interface NamespaceInfo__Output {
  'tenant': (string);
  'name': (string);
  'shard': (string);
  'inodes': (number);
}
