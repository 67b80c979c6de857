/**
 * What a view stores per tenant namespace, and its conversion to wire attributes. Everything
 * here is system-visible metadata; names and symlink targets stay sealed (I-L7).
 */
import type { Attr, FileKind__Output, Timespec } from '@kiseki/proto';

export type Kind = 'file' | 'dir' | 'symlink';

export interface Time {
  readonly sec: number;
  readonly nsec: number;
}

export interface InodeRec {
  kind: Kind;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  atime: Time;
  mtime: Time;
  ctime: Time;
  nlink: number;
  /** Seq of the delta that last changed this inode. */
  version: number;
  /** Directories: the parent inode (root points at itself) and the entry count. */
  parent: number;
  entries: number;
  /** Symlinks: the sealed EntryPayload with the target. */
  payload?: Uint8Array;
  blockSize: number;
  /** How many extended attributes the inode has (absent in records written before xattrs). */
  xattrs?: number;
  /** Sum of the sealed sizes of its extended attributes. */
  xattrBytes?: number;
}

export interface DirentRec {
  ino: number;
  kind: Kind;
  /** Sealed EntryPayload with the name (bound to tenant, parent and token). */
  payload: Uint8Array;
}

export interface BlockRec {
  chunk: string; // hex chunk id
  len: number;
}

export function kindFromWire(k: FileKind__Output | string): Kind {
  switch (k) {
    case 'FILE_KIND_FILE':
      return 'file';
    case 'FILE_KIND_DIR':
      return 'dir';
    case 'FILE_KIND_SYMLINK':
      return 'symlink';
    default:
      throw new TypeError(`unknown file kind ${k}`);
  }
}

export function kindToWire(k: Kind): FileKind__Output {
  return k === 'file' ? 'FILE_KIND_FILE' : k === 'dir' ? 'FILE_KIND_DIR' : 'FILE_KIND_SYMLINK';
}

export function toTimespec(t: Time): Timespec {
  return { sec: t.sec, nsec: t.nsec };
}

export function toAttr(ino: number, r: InodeRec): Attr {
  return {
    ino,
    kind: kindToWire(r.kind),
    mode: r.mode,
    uid: r.uid,
    gid: r.gid,
    size: r.size,
    atime: toTimespec(r.atime),
    mtime: toTimespec(r.mtime),
    ctime: toTimespec(r.ctime),
    nlink: r.nlink,
    version: r.version,
    payload: r.payload ? Buffer.from(r.payload) : Buffer.alloc(0),
    xattrs: r.xattrs ?? 0,
  };
}
