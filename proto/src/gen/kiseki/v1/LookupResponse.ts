// Original file: proto/kiseki/v1/services.proto

import type { Attr as _kiseki_v1_Attr, Attr__Output as _kiseki_v1_Attr__Output } from '../../kiseki/v1/Attr.ts';

export interface LookupResponse {
  'attr'?: (_kiseki_v1_Attr | null);
}

export interface LookupResponse__Output {
  'attr': (_kiseki_v1_Attr__Output | null);
}
