// Original file: proto/kiseki/v1/services.proto

import type { LogEntry as _kiseki_v1_LogEntry, LogEntry__Output as _kiseki_v1_LogEntry__Output } from '../../kiseki/v1/LogEntry.ts';
import type { Long } from '@grpc/proto-loader';

export interface ReadRangeResponse {
  'entries'?: (_kiseki_v1_LogEntry)[];
  'committed'?: (number | string | Long);
}

export interface ReadRangeResponse__Output {
  'entries': (_kiseki_v1_LogEntry__Output)[];
  'committed': (number);
}
