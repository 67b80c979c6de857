// Original file: proto/kiseki/v1/services.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Every View read may name a pin (MVCC snapshot) and a minimum watermark: the view waits
 * (bounded) until it has applied at least `min_seq`, which gives read-your-writes.
 */
export interface ReadOptions {
  'pin'?: (number | string | Long);
  'minSeq'?: (number | string | Long);
}

/**
 * Every View read may name a pin (MVCC snapshot) and a minimum watermark: the view waits
 * (bounded) until it has applied at least `min_seq`, which gives read-your-writes.
 */
export interface ReadOptions__Output {
  'pin': (number);
  'minSeq': (number);
}
