// Original file: proto/kiseki/v1/services.proto

import type { Long } from '@grpc/proto-loader';

export interface AppendResponse {
  'seqs'?: (number | string | Long)[];
}

export interface AppendResponse__Output {
  'seqs': (number)[];
}
