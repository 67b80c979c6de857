// Original file: proto/kiseki/v1/delta.proto

import type { Timespec as _kiseki_v1_Timespec, Timespec__Output as _kiseki_v1_Timespec__Output } from '../../kiseki/v1/Timespec.ts';
import type { CreateOp as _kiseki_v1_CreateOp, CreateOp__Output as _kiseki_v1_CreateOp__Output } from '../../kiseki/v1/CreateOp.ts';
import type { RemoveOp as _kiseki_v1_RemoveOp, RemoveOp__Output as _kiseki_v1_RemoveOp__Output } from '../../kiseki/v1/RemoveOp.ts';
import type { RenameOp as _kiseki_v1_RenameOp, RenameOp__Output as _kiseki_v1_RenameOp__Output } from '../../kiseki/v1/RenameOp.ts';
import type { SetAttrOp as _kiseki_v1_SetAttrOp, SetAttrOp__Output as _kiseki_v1_SetAttrOp__Output } from '../../kiseki/v1/SetAttrOp.ts';
import type { WriteOp as _kiseki_v1_WriteOp, WriteOp__Output as _kiseki_v1_WriteOp__Output } from '../../kiseki/v1/WriteOp.ts';
import type { LinkOp as _kiseki_v1_LinkOp, LinkOp__Output as _kiseki_v1_LinkOp__Output } from '../../kiseki/v1/LinkOp.ts';
import type { XattrOp as _kiseki_v1_XattrOp, XattrOp__Output as _kiseki_v1_XattrOp__Output } from '../../kiseki/v1/XattrOp.ts';

export interface DeltaHeader {
  /**
   * header format version, 1
   */
  'version'?: (number);
  'tenant'?: (string);
  /**
   * assigned: commit-time clock, used for ctime
   */
  'time'?: (_kiseki_v1_Timespec | null);
  'create'?: (_kiseki_v1_CreateOp | null);
  'remove'?: (_kiseki_v1_RemoveOp | null);
  'rename'?: (_kiseki_v1_RenameOp | null);
  'setattr'?: (_kiseki_v1_SetAttrOp | null);
  'write'?: (_kiseki_v1_WriteOp | null);
  'link'?: (_kiseki_v1_LinkOp | null);
  'xattr'?: (_kiseki_v1_XattrOp | null);
  'op'?: "create"|"remove"|"rename"|"setattr"|"write"|"link"|"xattr";
}

export interface DeltaHeader__Output {
  /**
   * header format version, 1
   */
  'version': (number);
  'tenant': (string);
  /**
   * assigned: commit-time clock, used for ctime
   */
  'time': (_kiseki_v1_Timespec__Output | null);
  'create'?: (_kiseki_v1_CreateOp__Output | null);
  'remove'?: (_kiseki_v1_RemoveOp__Output | null);
  'rename'?: (_kiseki_v1_RenameOp__Output | null);
  'setattr'?: (_kiseki_v1_SetAttrOp__Output | null);
  'write'?: (_kiseki_v1_WriteOp__Output | null);
  'link'?: (_kiseki_v1_LinkOp__Output | null);
  'xattr'?: (_kiseki_v1_XattrOp__Output | null);
  'op'?: "create"|"remove"|"rename"|"setattr"|"write"|"link"|"xattr";
}
