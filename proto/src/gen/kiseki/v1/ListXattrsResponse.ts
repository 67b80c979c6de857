// Original file: proto/kiseki/v1/services.proto

import type { Xattr as _kiseki_v1_Xattr, Xattr__Output as _kiseki_v1_Xattr__Output } from '../../kiseki/v1/Xattr.ts';

export interface ListXattrsResponse {
  'xattrs'?: (_kiseki_v1_Xattr)[];
}

export interface ListXattrsResponse__Output {
  'xattrs': (_kiseki_v1_Xattr__Output)[];
}
