// Original file: proto/kiseki/v1/services.proto

import type { DedupPolicy as _kiseki_v1_DedupPolicy, DedupPolicy__Output as _kiseki_v1_DedupPolicy__Output } from '../../kiseki/v1/DedupPolicy.ts';
import type { Long } from '@grpc/proto-loader';

export interface OpenSessionResponse {
  'sessionToken'?: (string);
  'expiresAtMs'?: (number | string | Long);
  /**
   * base URL of the chunk data transport
   */
  'chunkUrl'?: (string);
  'shard'?: (string);
  'rootIno'?: (number | string | Long);
  /**
   * file block (chunk) size in bytes
   */
  'blockSize'?: (number);
  'dedup'?: (_kiseki_v1_DedupPolicy);
  'maxNameBytes'?: (number);
}

export interface OpenSessionResponse__Output {
  'sessionToken': (string);
  'expiresAtMs': (number);
  /**
   * base URL of the chunk data transport
   */
  'chunkUrl': (string);
  'shard': (string);
  'rootIno': (number);
  /**
   * file block (chunk) size in bytes
   */
  'blockSize': (number);
  'dedup': (_kiseki_v1_DedupPolicy__Output);
  'maxNameBytes': (number);
}
