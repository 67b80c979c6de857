import type { Attr__Output } from '@kiseki/proto';

export type FileKind = 'file' | 'dir' | 'symlink';

export interface Timespec {
  readonly sec: number;
  readonly nsec: number;
}

/** What `stat` returns: the system-visible attributes of an inode. */
export interface Stat {
  readonly ino: number;
  readonly kind: FileKind;
  /** Permission bits (0o7777), without the file type bits. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly nlink: number;
  readonly atime: Timespec;
  readonly mtime: Timespec;
  readonly ctime: Timespec;
  /** Seq of the delta that last changed the inode. */
  readonly version: number;
  /** How many extended attributes the inode has. */
  readonly xattrs?: number;
}

export interface DirEntry {
  readonly name: string;
  readonly stat: Stat;
}

export function kindOf(k: string): FileKind {
  if (k === 'FILE_KIND_DIR') return 'dir';
  if (k === 'FILE_KIND_SYMLINK') return 'symlink';
  return 'file';
}

export function wireKind(k: FileKind): 'FILE_KIND_FILE' | 'FILE_KIND_DIR' | 'FILE_KIND_SYMLINK' {
  return k === 'dir' ? 'FILE_KIND_DIR' : k === 'symlink' ? 'FILE_KIND_SYMLINK' : 'FILE_KIND_FILE';
}

export function statFromAttr(a: Attr__Output): Stat {
  const ts = (t: { sec: number; nsec: number } | null) => ({ sec: t?.sec ?? 0, nsec: t?.nsec ?? 0 });
  return {
    ino: a.ino,
    kind: kindOf(a.kind),
    mode: a.mode,
    uid: a.uid,
    gid: a.gid,
    size: a.size,
    nlink: a.nlink,
    atime: ts(a.atime),
    mtime: ts(a.mtime),
    ctime: ts(a.ctime),
    version: a.version,
    xattrs: a.xattrs,
  };
}

export function msToTimespec(ms: number): Timespec {
  const sec = Math.floor(ms / 1000);
  return { sec, nsec: Math.round((ms - sec * 1000) * 1e6) };
}
