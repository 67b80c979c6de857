// Original file: proto/kiseki/v1/services.proto

import type { Long } from '@grpc/proto-loader';

export interface StatFsResponse {
  'capacityBytes'?: (number | string | Long);
  'freeBytes'?: (number | string | Long);
  'inodes'?: (number | string | Long);
  'blockSize'?: (number);
  'maxNameBytes'?: (number);
}

export interface StatFsResponse__Output {
  'capacityBytes': (number);
  'freeBytes': (number);
  'inodes': (number);
  'blockSize': (number);
  'maxNameBytes': (number);
}
