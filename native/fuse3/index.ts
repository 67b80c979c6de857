/**
 * The libfuse3 low-level binding (fuse3.c). Loaded on demand: only mount.kiseki needs it, and a
 * missing build is reported with what to do rather than at import time.
 */
import { createRequire } from 'node:module';

/** Operation codes, the order of the enum in fuse3.c. */
export const Op = {
  LOOKUP: 1,
  FORGET: 2,
  GETATTR: 3,
  SETATTR: 4,
  READLINK: 5,
  MKNOD: 6,
  MKDIR: 7,
  UNLINK: 8,
  RMDIR: 9,
  SYMLINK: 10,
  RENAME: 11,
  LINK: 12,
  OPEN: 13,
  READ: 14,
  WRITE: 15,
  FLUSH: 16,
  RELEASE: 17,
  FSYNC: 18,
  OPENDIR: 19,
  READDIR: 20,
  RELEASEDIR: 21,
  FSYNCDIR: 22,
  STATFS: 23,
  CREATE: 24,
  EXIT: 25,
  INIT: 26,
  SETXATTR: 27,
  GETXATTR: 28,
  LISTXATTR: 29,
  REMOVEXATTR: 30,
  GETLK: 31,
  SETLK: 32,
  FLOCK: 33,
} as const;
export type OpCode = (typeof Op)[keyof typeof Op];

/** Indexes of the attribute Float64Array the entry/attr replies take. */
export const Attr = {
  INO: 0,
  MODE: 1,
  NLINK: 2,
  UID: 3,
  GID: 4,
  SIZE: 5,
  BLOCKS: 6,
  BLKSIZE: 7,
  ATIME: 8,
  ATIME_NS: 9,
  MTIME: 10,
  MTIME_NS: 11,
  CTIME: 12,
  CTIME_NS: 13,
  ATTR_TTL: 14,
  ENTRY_TTL: 15,
  LENGTH: 16,
} as const;

/** Bits of `openFlags` in replyOpen/replyCreate. */
export const OpenFlag = { DIRECT_IO: 1, KEEP_CACHE: 2, NONSEEKABLE: 4 } as const;

/** Indexes of the Float64Array GETLK/SETLK carry (and replyLock takes): a struct flock. */
export const Lock = { TYPE: 0, START: 1, LEN: 2, PID: 3, LENGTH: 4 } as const;

/** A request handle: the fuse_req_t pointer, answered exactly once. */
export type Req = number;

/**
 * Called on the JS thread for every request: (op, req, ino, a, b, c, s1, s2, data, fh, uid, gid,
 * pid, umask, lockOwner). What a/b/c/s1/s2/data mean depends on the op (see fuse/src/ops.ts);
 * lockOwner is the file's lock owner (decimal: it is 64 bits wide).
 */
export type OnRequest = (
  op: OpCode,
  req: Req,
  ino: number,
  a: number,
  b: number,
  c: number,
  s1: string | undefined,
  s2: string | undefined,
  data: Buffer | Float64Array | number | undefined,
  fh: number | undefined,
  uid: number,
  gid: number,
  pid: number,
  umask: number,
  lockOwner: string,
) => void;

export interface SessionOptions {
  /** Kernel write-back cache (FUSE_CAP_WRITEBACK_CACHE). mount.kiseki keeps it off: a file
   * written with it did not read back after a remount (ADR 0001). */
  readonly writeback?: boolean;
  /** Kernel max_background (async requests in flight, e.g. readahead). */
  readonly maxBackground?: number;
  /** Buffers write payloads are copied into (a write then passes its slot index as `data`;
   * release it with releaseWriteSlot). Writes finding no free slot get their own Buffer. */
  readonly writeSlots?: Buffer[];
  /** libfuse worker threads reading /dev/fuse. */
  readonly threads?: number;
}

declare const sessionBrand: unique symbol;
export type SessionHandle = { readonly [sessionBrand]: true };

export interface Fuse3 {
  mount(mountpoint: string, args: string[], opts: SessionOptions, onRequest: OnRequest): SessionHandle;
  /** Lazily detaches the mount; the loop ends (Op.EXIT) when the kernel drops the connection. */
  unmount(s: SessionHandle): boolean;
  /** After Op.EXIT: joins the loop thread and frees the session. */
  close(s: SessionHandle): void;
  replyErr(req: Req, errno: number): number;
  replyNone(req: Req): void;
  replyEntry(req: Req, attr: Float64Array): number;
  replyCreate(req: Req, attr: Float64Array, fh: number, openFlags: number): number;
  replyAttr(req: Req, attr: Float64Array): number;
  replyOpen(req: Req, fh: number, openFlags: number): number;
  replyData(req: Req, buf: Buffer, length: number): number;
  /** replyData with the copy into the kernel on a libuv pool thread; `done` runs when `buf` may be reused. */
  replyDataAsync(req: Req, buf: Buffer, length: number, done: () => void): number;
  replyWrite(req: Req, count: number): number;
  /** A write's payload slot is free again (exactly once per slot handed out). */
  releaseWriteSlot(s: SessionHandle, slot: number): void;
  replyReadlink(req: Req, target: string): number;
  /** The size getxattr/listxattr with size 0 asks for. */
  replyXattr(req: Req, size: number): number;
  /** F_GETLK's answer: [l_type, l_start, l_len, l_pid]; F_UNLCK for no conflict. */
  replyLock(req: Req, lock: Float64Array): number;
  /** Drops the kernel's cached pages and attributes of these inodes (crypto-shred); resolves
   * with how many could not be invalidated. Runs off the JS thread. */
  invalidateInodes(s: SessionHandle, inos: Float64Array): Promise<number>;
  replyStatfs(req: Req, values: Float64Array): number;
  /** Packs entries while they fit in `size`; entry i gets offset firstOffset+i+1. Returns the count packed. */
  replyDir(
    req: Req,
    size: number,
    firstOffset: number,
    names: string[],
    inos: Float64Array,
    modes: Float64Array,
  ): number;
}

let cached: Fuse3 | undefined;

/** The addon, or a clear error saying how to build it. */
export function loadFuse3(): Fuse3 {
  if (cached) return cached;
  try {
    cached = createRequire(import.meta.url)('./build/Release/kiseki_fuse3.node') as Fuse3;
    return cached;
  } catch (err) {
    throw new Error(
      `the libfuse3 binding is not built (${(err as Error).message.split('\n')[0]}): ` +
        'install libfuse3-dev (apt-get install libfuse3-dev) and run `pnpm install` (or `bash native/build.sh`)',
    );
  }
}
