// Original file: proto/kiseki/v1/services.proto

import type { DirEntry as _kiseki_v1_DirEntry, DirEntry__Output as _kiseki_v1_DirEntry__Output } from '../../kiseki/v1/DirEntry.ts';

export interface ReadDirResponse {
  'entries'?: (_kiseki_v1_DirEntry)[];
  'more'?: (boolean);
}

export interface ReadDirResponse__Output {
  'entries': (_kiseki_v1_DirEntry__Output)[];
  'more': (boolean);
}
