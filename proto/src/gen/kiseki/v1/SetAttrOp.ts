// Original file: proto/kiseki/v1/delta.proto

import type { Timespec as _kiseki_v1_Timespec, Timespec__Output as _kiseki_v1_Timespec__Output } from '../../kiseki/v1/Timespec.ts';
import type { Long } from '@grpc/proto-loader';

export interface SetAttrOp {
  'ino'?: (number | string | Long);
  'mode'?: (number);
  'uid'?: (number);
  'gid'?: (number);
  'atime'?: (_kiseki_v1_Timespec | null);
  'mtime'?: (_kiseki_v1_Timespec | null);
  '_mode'?: "mode";
  '_uid'?: "uid";
  '_gid'?: "gid";
}

export interface SetAttrOp__Output {
  'ino': (number);
  'mode'?: (number);
  'uid'?: (number);
  'gid'?: (number);
  'atime': (_kiseki_v1_Timespec__Output | null);
  'mtime': (_kiseki_v1_Timespec__Output | null);
  '_mode'?: "mode";
  '_uid'?: "uid";
  '_gid'?: "gid";
}
