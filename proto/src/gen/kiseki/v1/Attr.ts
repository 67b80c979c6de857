// Original file: proto/kiseki/v1/common.proto

import type { FileKind as _kiseki_v1_FileKind, FileKind__Output as _kiseki_v1_FileKind__Output } from '../../kiseki/v1/FileKind.ts';
import type { Timespec as _kiseki_v1_Timespec, Timespec__Output as _kiseki_v1_Timespec__Output } from '../../kiseki/v1/Timespec.ts';
import type { Long } from '@grpc/proto-loader';

/**
 * System-visible attributes of an inode. Names and symlink targets are never here: they live
 * in tenant-sealed payloads (I-L7).
 */
export interface Attr {
  'ino'?: (number | string | Long);
  'kind'?: (_kiseki_v1_FileKind);
  /**
   * permission bits and setuid/setgid/sticky; no type bits
   */
  'mode'?: (number);
  'uid'?: (number);
  'gid'?: (number);
  'size'?: (number | string | Long);
  'atime'?: (_kiseki_v1_Timespec | null);
  'mtime'?: (_kiseki_v1_Timespec | null);
  'ctime'?: (_kiseki_v1_Timespec | null);
  'nlink'?: (number);
  /**
   * seq of the delta that last changed this inode
   */
  'version'?: (number | string | Long);
  /**
   * symlinks: the sealed EntryPayload holding the target
   */
  'payload'?: (Buffer | Uint8Array | string);
  /**
   * how many extended attributes the inode has (0 lets getxattr skip a call)
   */
  'xattrs'?: (number);
}

/**
 * System-visible attributes of an inode. Names and symlink targets are never here: they live
 * in tenant-sealed payloads (I-L7).
 */
export interface Attr__Output {
  'ino': (number);
  'kind': (_kiseki_v1_FileKind__Output);
  /**
   * permission bits and setuid/setgid/sticky; no type bits
   */
  'mode': (number);
  'uid': (number);
  'gid': (number);
  'size': (number);
  'atime': (_kiseki_v1_Timespec__Output | null);
  'mtime': (_kiseki_v1_Timespec__Output | null);
  'ctime': (_kiseki_v1_Timespec__Output | null);
  'nlink': (number);
  /**
   * seq of the delta that last changed this inode
   */
  'version': (number);
  /**
   * symlinks: the sealed EntryPayload holding the target
   */
  'payload': (Buffer);
  /**
   * how many extended attributes the inode has (0 lets getxattr skip a call)
   */
  'xattrs': (number);
}
