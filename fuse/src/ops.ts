/**
 * The POSIX adapter: libfuse3 low-level requests (inode based; the kernel walks paths and keeps
 * the dentry cache) mapped onto the thick client's inode API. Every request is answered exactly
 * once, asynchronously, so many are in flight at a time. Failures carry their errno from the
 * error registry; unexpected ones become EIO and are logged, never swallowed.
 */
import { constants } from 'node:os';
import type { FileData, Kiseki, Stat, Timespec } from '@kiseki/client';
import {
  Attr,
  type Fuse3,
  Lock,
  type OnRequest,
  Op,
  type OpCode,
  type Req,
  type SessionHandle,
} from '@kiseki/native/fuse3';
import { KisekiError } from '@kiseki/proto';
import { fuseErrno } from './errno.ts';

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const S_IFMT = 0o170000;
const O_ACCMODE = 3;
const O_EXCL = 0o200;
const O_TRUNC = 0o1000;
const RENAME_NOREPLACE = 1;
const FUSE_ROOT_ID = 1;
// setattr's to_set bits (fuse_lowlevel.h)
const SET_MODE = 1 << 0;
const SET_UID = 1 << 1;
const SET_GID = 1 << 2;
const SET_SIZE = 1 << 3;
const SET_ATIME = 1 << 4;
const SET_MTIME = 1 << 5;
const SET_ATIME_NOW = 1 << 7;
const SET_MTIME_NOW = 1 << 8;
// setxattr flags, fcntl lock types and flock operations (Linux)
const XATTR_CREATE = 1;
const XATTR_REPLACE = 2;
const F_RDLCK = 0;
const F_WRLCK = 1;
const F_UNLCK = 2;
const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;
/** POSIX ACLs travel as these xattrs; Kiseki has Unix permissions only (no ACLs). */
const ACL_XATTRS = new Set(['system.posix_acl_access', 'system.posix_acl_default']);

export const OPEN_FILES_MAX = 65_536;
/** Read replies are staged in pooled buffers (fresh memory is slow to touch here). */
const READ_BUFFERS_MAX = 32;
const REQUEST_BYTES_MAX = 1024 * 1024;
/** Write payload slots: more writes than this in flight get a Buffer each (slower, still fine). */
const WRITE_SLOTS = 16;

interface Handle {
  readonly ino: number;
  readonly file: FileData;
  readonly writable: boolean;
}

interface DirHandle {
  names: string[];
  inos: Float64Array;
  modes: Float64Array;
}

/** Where a symlink lives: its target is sealed with its entry (parent, name), not its inode. */
interface LinkPlace {
  parent: number;
  name: string;
}

export interface OpsOptions {
  /** Seconds the kernel may cache attributes and entries. */
  readonly attrTimeoutS: number;
  readonly onError?: (op: string, detail: string, err: unknown) => void;
  /** The session ended (unmounted from outside, or the connection died). */
  readonly onExit?: (code: number) => void;
}

/** A struct flock's range: l_len 0 (or one past what a double holds exactly) reaches the end. */
function lockRange(l: Float64Array): { start: number; length: number } {
  const start = l[Lock.START]!;
  const len = l[Lock.LEN]!;
  if (!Number.isSafeInteger(start) || start < 0)
    throw new KisekiError('KISEKI_E_INVAL', 'lock start out of range');
  return {
    start,
    length: Number.isSafeInteger(len) && len > 0 && start + len <= Number.MAX_SAFE_INTEGER ? len : 0,
  };
}

function modeOf(s: Stat): number {
  const type = s.kind === 'dir' ? S_IFDIR : s.kind === 'symlink' ? S_IFLNK : S_IFREG;
  return type | (s.mode & 0o7777);
}

const OP_NAMES = Object.fromEntries(Object.entries(Op).map(([k, v]) => [v, k.toLowerCase()])) as Record<
  number,
  string
>;

export class LowLevelOps {
  readonly handles = new Map<number, Handle>();
  /** Where the binding copies write payloads (see SessionOptions.writeSlots). */
  readonly writeSlots = Array.from({ length: WRITE_SLOTS }, () => Buffer.allocUnsafeSlow(REQUEST_BYTES_MAX));
  #session: SessionHandle | undefined;
  readonly #dirs = new Map<number, DirHandle>();
  readonly #lookups = new Map<number, number>();
  readonly #links = new Map<number, LinkPlace>();
  /** The last attributes the kernel got for each inode it holds: an open file that was unlinked
   * has no inode on the server any more, but fstat on its handle must still answer. */
  readonly #stats = new Map<number, Stat>();
  readonly #linkAt = new Map<string, number>();
  /** When each inode's attributes were last fetched (the xattr-count shortcut trusts them as
   * long as the kernel trusts attributes). */
  readonly #statAt = new Map<number, number>();
  /** Open handles per inode: while a file is open here its xattrs are taken as this mount last
   * saw them (close-to-open, like its data). The kernel asks for security.capability before
   * every write; without this each 1 MiB write cost a ListXattrs RPC. */
  readonly #openCount = new Map<number, number>();
  readonly #readBufs: Buffer[] = [];
  readonly #attr = new Float64Array(Attr.LENGTH);
  readonly #k: Kiseki;
  readonly #fuse: Fuse3;
  readonly #opts: OpsOptions;
  readonly #root: number;
  readonly #bs: number;
  #nextFh = 1;
  /** The tenant was crypto-shredded: every request is refused from now on (I-K5). */
  #shredded = false;

  constructor(k: Kiseki, fuse: Fuse3, opts: OpsOptions) {
    this.#k = k;
    this.#fuse = fuse;
    this.#opts = opts;
    this.#root = k.client.root;
    this.#bs = k.client.blockSize;
  }

  /** The mounted session, for releasing write slots. */
  attach(session: SessionHandle): void {
    this.#session = session;
  }

  // The kernel names the root 1; Kiseki's root has its own number (1 today).
  #ino(kernelIno: number): number {
    return kernelIno === FUSE_ROOT_ID ? this.#root : kernelIno;
  }

  #kernelIno(ino: number): number {
    return ino === this.#root ? FUSE_ROOT_ID : ino;
  }

  #fillAttr(s: Stat): Float64Array {
    if (s.ino !== this.#root) this.#stats.set(s.ino, s);
    this.#statAt.set(s.ino, Date.now());
    const a = this.#attr;
    const ttl = this.#opts.attrTimeoutS;
    a[Attr.INO] = this.#kernelIno(s.ino);
    a[Attr.MODE] = modeOf(s);
    a[Attr.NLINK] = s.nlink;
    a[Attr.UID] = s.uid;
    a[Attr.GID] = s.gid;
    a[Attr.SIZE] = s.size;
    a[Attr.BLOCKS] = Math.ceil(s.size / 512);
    a[Attr.BLKSIZE] = this.#bs;
    a[Attr.ATIME] = s.atime.sec;
    a[Attr.ATIME_NS] = s.atime.nsec;
    a[Attr.MTIME] = s.mtime.sec;
    a[Attr.MTIME_NS] = s.mtime.nsec;
    a[Attr.CTIME] = s.ctime.sec;
    a[Attr.CTIME_NS] = s.ctime.nsec;
    a[Attr.ATTR_TTL] = ttl;
    a[Attr.ENTRY_TTL] = ttl;
    return a;
  }

  /** An entry reply hands the kernel one lookup reference (returned by forget). */
  #entry(req: Req, s: Stat, parent: number, name: string): void {
    if (s.ino !== this.#root) this.#lookups.set(s.ino, (this.#lookups.get(s.ino) ?? 0) + 1);
    if (s.kind === 'symlink') this.#placeLink(s.ino, parent, name);
    this.#fuse.replyEntry(req, this.#fillAttr(s));
  }

  #placeLink(ino: number, parent: number, name: string): void {
    const old = this.#links.get(ino);
    if (old) this.#linkAt.delete(`${old.parent}/${old.name}`);
    this.#links.set(ino, { parent, name });
    this.#linkAt.set(`${parent}/${name}`, ino);
  }

  #forget(ino: number, n: number): void {
    const left = (this.#lookups.get(ino) ?? 0) - n;
    if (left > 0) {
      this.#lookups.set(ino, left);
      return;
    }
    this.#lookups.delete(ino);
    this.#stats.delete(ino);
    this.#statAt.delete(ino);
    const place = this.#links.get(ino);
    if (place) {
      this.#links.delete(ino);
      if (this.#linkAt.get(`${place.parent}/${place.name}`) === ino)
        this.#linkAt.delete(`${place.parent}/${place.name}`);
    }
  }

  #handle(fh: number | undefined): Handle {
    const h = fh === undefined ? undefined : this.handles.get(fh);
    if (!h) throw new KisekiError('KISEKI_E_BADF', `bad file handle ${fh}`);
    return h;
  }

  #addHandle(ino: number, file: FileData, writable: boolean): number {
    if (this.handles.size + this.#dirs.size >= OPEN_FILES_MAX)
      throw new KisekiError('KISEKI_E_BUSY', 'too many open files');
    const fh = this.#newFh();
    this.handles.set(fh, { ino, file, writable });
    this.#openCount.set(ino, (this.#openCount.get(ino) ?? 0) + 1);
    return fh;
  }

  #newFh(): number {
    while (this.handles.has(this.#nextFh) || this.#dirs.has(this.#nextFh))
      this.#nextFh = (this.#nextFh % 0x7fffffff) + 1;
    const fh = this.#nextFh;
    this.#nextFh = (this.#nextFh % 0x7fffffff) + 1;
    return fh;
  }

  #readBuf(): Buffer {
    return this.#readBufs.pop() ?? Buffer.allocUnsafeSlow(REQUEST_BYTES_MAX);
  }

  #freeReadBuf(b: Buffer): void {
    if (this.#readBufs.length < READ_BUFFERS_MAX) this.#readBufs.push(b);
  }

  /** Runs an op; a failure answers its errno. Unexpected failures are logged, and every
   * failure with KISEKI_FUSE_TRACE=1 in the environment. */
  #run(op: OpCode, req: Req, detail: string | number, fn: () => Promise<void>): void {
    // Closing still works: a handle with nothing unwritten closes cleanly; unwritten data can't
    // be sealed any more and fails there.
    const closing = op === Op.FLUSH || op === Op.RELEASE;
    const go =
      this.#shredded && !closing
        ? () => Promise.reject(new KisekiError('KISEKI_E_SHREDDED', "the tenant's keys were destroyed"))
        : fn;
    go().catch((err) => {
      if (process.env.KISEKI_FUSE_TRACE || !(err instanceof KisekiError))
        this.#opts.onError?.(OP_NAMES[op] ?? String(op), String(detail), err);
      this.#fuse.replyErr(req, -fuseErrno(err));
    });
  }

  /** The request dispatcher the addon calls (see native/fuse3/index.ts for the arguments). */
  readonly onRequest: OnRequest = (
    op,
    req,
    kino,
    a,
    b,
    c,
    s1,
    s2,
    data,
    fh,
    uid,
    gid,
    pid,
    _umask,
    owner,
  ) => {
    const { client } = this.#k;
    const fuse = this.#fuse;
    const ino = this.#ino(kino);
    const ok = () => void fuse.replyErr(req, 0);
    switch (op) {
      case Op.LOOKUP:
        return this.#run(op, req, s1!, async () => this.#entry(req, await client.lookup(ino, s1!), ino, s1!));
      case Op.FORGET:
        return this.#forget(ino, a);
      case Op.GETATTR:
        return this.#run(
          op,
          req,
          ino,
          async () => void fuse.replyAttr(req, this.#fillAttr(await this.#getattr(ino))),
        );
      case Op.SETATTR:
        return this.#run(op, req, ino, () => this.#setattr(req, ino, a, data as Float64Array, fh));
      case Op.READLINK:
        return this.#run(op, req, ino, async () => {
          const place = this.#links.get(ino);
          if (!place) throw new KisekiError('KISEKI_E_INVAL', 'not a symbolic link the kernel looked up');
          fuse.replyReadlink(req, await client.readlink(place.parent, place.name));
        });
      case Op.MKNOD:
        return this.#run(op, req, s1!, async () => {
          // Regular files only: FIFOs, sockets and devices have no place in Kiseki.
          if ((a & S_IFMT) !== S_IFREG) throw new KisekiError('KISEKI_E_PERM', 'only regular files');
          const st = await client.create(ino, s1!, 'file', { mode: a & 0o7777, uid, gid, exclusive: true });
          this.#entry(req, st, ino, s1!);
        });
      case Op.MKDIR:
        return this.#run(op, req, s1!, async () =>
          this.#entry(req, await client.mkdir(ino, s1!, { mode: a & 0o7777, uid, gid }), ino, s1!),
        );
      case Op.SYMLINK:
        return this.#run(op, req, s1!, async () =>
          this.#entry(req, await client.symlink(ino, s1!, s2!, { uid, gid }), ino, s1!),
        );
      case Op.UNLINK:
        return this.#run(op, req, s1!, async () => {
          await client.unlink(ino, s1!);
          this.#linkAt.delete(`${ino}/${s1}`);
          ok();
        });
      case Op.RMDIR:
        return this.#run(op, req, s1!, async () => {
          await client.rmdir(ino, s1!);
          ok();
        });
      case Op.RENAME:
        return this.#run(op, req, s1!, async () => {
          if (c & ~RENAME_NOREPLACE)
            throw new KisekiError('KISEKI_E_INVAL', 'RENAME_EXCHANGE is not supported');
          const dst = this.#ino(a);
          await client.rename(ino, s1!, dst, s2!, { noreplace: (c & RENAME_NOREPLACE) !== 0 });
          this.#linkAt.delete(`${dst}/${s2}`);
          const moved = this.#linkAt.get(`${ino}/${s1}`);
          if (moved !== undefined) this.#placeLink(moved, dst, s2!);
          ok();
        });
      case Op.LINK:
        return this.#run(op, req, s1!, async () => {
          const parent = this.#ino(a);
          this.#entry(req, await client.link(ino, parent, s1!), parent, s1!);
        });
      case Op.SETXATTR:
        return this.#run(op, req, s1!, async () => {
          if (s1!.startsWith('system.'))
            throw new KisekiError('KISEKI_E_UNSUPPORTED', `${s1}: no ACLs or system attributes here`);
          const mode = a & XATTR_CREATE ? 'create' : a & XATTR_REPLACE ? 'replace' : 'set';
          await client.setxattr(ino, s1!, data as Buffer, mode);
          this.#xattrsChanged(ino);
          ok();
        });
      case Op.GETXATTR:
        return this.#run(op, req, s1!, async () => {
          const v = ACL_XATTRS.has(s1!) ? undefined : (await this.#xattrs(ino)).get(s1!);
          if (!v) throw new KisekiError('KISEKI_E_NODATA', `no extended attribute ${s1}`);
          this.#replySized(req, v, a);
        });
      case Op.LISTXATTR:
        return this.#run(op, req, ino, async () => {
          const names = [...(await this.#xattrs(ino)).keys()];
          this.#replySized(req, Buffer.from(names.map((n) => `${n}\0`).join('')), a);
        });
      case Op.REMOVEXATTR:
        return this.#run(op, req, s1!, async () => {
          if (ACL_XATTRS.has(s1!)) throw new KisekiError('KISEKI_E_NODATA', `no ${s1} here`);
          await client.removexattr(ino, s1!);
          this.#xattrsChanged(ino);
          ok();
        });
      case Op.GETLK:
        return this.#run(op, req, ino, async () => {
          const l = data as Float64Array;
          const spec = { ino, kind: 'posix' as const, owner, ...lockRange(l) };
          const hit = await client.locks.test(spec, l[Lock.TYPE] === F_WRLCK ? 'write' : 'read');
          fuse.replyLock(
            req,
            hit
              ? Float64Array.of(hit.type === 'write' ? F_WRLCK : F_RDLCK, hit.start, hit.length, hit.pid)
              : Float64Array.of(F_UNLCK, l[Lock.START]!, l[Lock.LEN]!, 0),
          );
        });
      case Op.SETLK:
        return this.#run(op, req, ino, async () => {
          const l = data as Float64Array;
          const spec = { ino, kind: 'posix' as const, owner, ...lockRange(l) };
          if (l[Lock.TYPE] === F_UNLCK) await client.locks.unlock(spec);
          else
            await client.locks.lock(spec, l[Lock.TYPE] === F_WRLCK ? 'write' : 'read', {
              wait: a !== 0,
              pid: l[Lock.PID] || pid,
            });
          ok();
        });
      case Op.FLOCK:
        return this.#run(op, req, ino, async () => {
          const spec = { ino, kind: 'flock' as const, owner };
          if (a & LOCK_UN) await client.locks.unlock(spec);
          else if (a & (LOCK_SH | LOCK_EX))
            await client.locks.lock(spec, a & LOCK_EX ? 'write' : 'read', { wait: (a & LOCK_NB) === 0, pid });
          else throw new KisekiError('KISEKI_E_INVAL', 'flock needs LOCK_SH, LOCK_EX or LOCK_UN');
          ok();
        });
      case Op.CREATE:
        return this.#run(op, req, s1!, async () => {
          const st = await client.create(ino, s1!, 'file', {
            mode: a & 0o7777,
            uid,
            gid,
            exclusive: (b & O_EXCL) !== 0,
          });
          const file = await client.open(st.ino, st);
          let h: number;
          try {
            h = this.#addHandle(st.ino, file, true);
          } catch (err) {
            await client.release(file).catch(() => {});
            throw err;
          }
          this.#lookups.set(st.ino, (this.#lookups.get(st.ino) ?? 0) + 1);
          fuse.replyCreate(req, this.#fillAttr(st), h, 0);
        });
      case Op.OPEN:
        return this.#run(op, req, ino, async () => {
          const file = await client.open(ino);
          try {
            if (b & O_TRUNC && file.size > 0) await file.truncate(0);
            fuse.replyOpen(req, this.#addHandle(ino, file, (b & O_ACCMODE) !== 0), 0);
          } catch (err) {
            await client.release(file).catch(() => {});
            throw err;
          }
        });
      case Op.READ:
        return this.#run(op, req, ino, async () => {
          const h = this.#handle(fh);
          const buf = this.#readBuf();
          let n: number;
          try {
            n = await h.file.readInto(c, buf.subarray(0, Math.min(a, REQUEST_BYTES_MAX)));
          } catch (err) {
            this.#freeReadBuf(buf);
            throw err;
          }
          // The copy into the kernel's page cache runs off this thread; the buffer comes back after.
          fuse.replyDataAsync(req, buf, n, () => this.#freeReadBuf(buf));
        });
      case Op.WRITE: {
        // The payload sits in a pooled slot (released here once FileData.write, which copies
        // what it is given, has returned) or, when every slot was busy, in its own Buffer.
        const slot = typeof data === 'number' ? data : undefined;
        const payload = slot === undefined ? (data as Buffer) : this.writeSlots[slot]!.subarray(0, a);
        return this.#run(op, req, ino, async () => {
          try {
            const h = this.#handle(fh);
            if (!h.writable) throw new KisekiError('KISEKI_E_BADF', 'file not open for writing');
            fuse.replyWrite(req, await h.file.write(c, payload));
          } finally {
            if (slot !== undefined && this.#session) fuse.releaseWriteSlot(this.#session, slot);
          }
        });
      }
      case Op.FLUSH:
      case Op.FSYNC:
        // close(2) → flush: data is committed when close returns (close-to-open consistency).
        return this.#run(op, req, ino, async () => {
          await this.#handle(fh).file.flush();
          // POSIX: closing any descriptor of a file drops the process's record locks on it.
          if (op === Op.FLUSH) await client.locks.unlock({ ino, kind: 'posix', owner });
          ok();
        });
      case Op.RELEASE:
        return this.#run(op, req, ino, async () => {
          const h = fh === undefined ? undefined : this.handles.get(fh);
          if (h) {
            this.handles.delete(fh!);
            const left = (this.#openCount.get(h.ino) ?? 1) - 1;
            if (left > 0) this.#openCount.set(h.ino, left);
            else this.#openCount.delete(h.ino);
            await client.release(h.file);
          }
          if (a) await client.locks.unlock({ ino, kind: 'flock', owner }); // the last close of its fd
          ok();
        });
      case Op.OPENDIR:
        return this.#run(op, req, ino, async () => {
          if (this.handles.size + this.#dirs.size >= OPEN_FILES_MAX)
            throw new KisekiError('KISEKI_E_BUSY', 'too many open files');
          const dh = this.#newFh();
          this.#dirs.set(dh, { names: [], inos: new Float64Array(0), modes: new Float64Array(0) });
          fuse.replyOpen(req, dh, 0);
        });
      case Op.READDIR:
        return this.#run(op, req, ino, async () => {
          const d = fh === undefined ? undefined : this.#dirs.get(fh);
          if (!d) throw new KisekiError('KISEKI_E_BADF', `bad directory handle ${fh}`);
          if (c === 0) {
            // A listing is read once per opendir (and again on rewinddir), then paged from memory.
            const entries = await client.readdir(ino);
            const n = entries.length + 2;
            d.names = ['.', '..', ...entries.map((e) => e.name)];
            d.inos = new Float64Array(n);
            d.modes = new Float64Array(n);
            d.inos[0] = d.inos[1] = kino;
            d.modes[0] = d.modes[1] = S_IFDIR;
            entries.forEach((e, i) => {
              d.inos[i + 2] = this.#kernelIno(e.stat.ino);
              d.modes[i + 2] = modeOf(e.stat);
            });
          }
          if (c >= d.names.length) return void fuse.replyDir(req, a, c, [], d.inos, d.modes);
          fuse.replyDir(req, a, c, d.names.slice(c), d.inos.subarray(c), d.modes.subarray(c));
        });
      case Op.RELEASEDIR:
        if (fh !== undefined) this.#dirs.delete(fh);
        return ok();
      case Op.FSYNCDIR:
        return ok(); // directory changes are committed in the log before they are answered
      case Op.STATFS:
        return this.#run(op, req, ino, async () => {
          const s = await client.statfs();
          const unit = 4096;
          const free = Math.floor(Number(s.freeBytes) / unit);
          fuse.replyStatfs(
            req,
            Float64Array.of(
              unit,
              unit,
              Math.floor(Number(s.capacityBytes) / unit),
              free,
              free,
              2 ** 32,
              2 ** 32 - Number(s.inodes),
              2 ** 32 - Number(s.inodes),
              s.maxNameBytes,
            ),
          );
        });
      case Op.EXIT:
        return this.#opts.onExit?.(a);
      default:
        return void fuse.replyErr(req, constants.errno.ENOSYS);
    }
  };

  /** A value (getxattr) or name list (listxattr): its size when asked with size 0, ERANGE when
   * it doesn't fit the caller's buffer. */
  #replySized(req: Req, v: Buffer, size: number): void {
    if (size === 0) return void this.#fuse.replyXattr(req, v.length);
    if (v.length > size) throw new KisekiError('KISEKI_E_RANGE', 'the buffer is too small');
    this.#fuse.replyData(req, v, v.length);
  }

  /** Every xattr of an inode; no call at all when its attributes (fresh within the attribute
   * timeout, like the kernel's own) say it has none: `ls -l` asks for ACLs on every file. */
  async #xattrs(ino: number): Promise<Map<string, Buffer>> {
    const fresh =
      this.#openCount.has(ino) || Date.now() - (this.#statAt.get(ino) ?? 0) < this.#opts.attrTimeoutS * 1000;
    if (fresh && this.#stats.get(ino)?.xattrs === 0) return new Map();
    return this.#k.client.xattrs(ino);
  }

  #xattrsChanged(ino: number): void {
    const s = this.#stats.get(ino);
    if (s) this.#stats.set(ino, { ...s, xattrs: undefined });
  }

  /** Attributes from the server, or for an open file that was unlinked, the last known ones. */
  async #getattr(ino: number): Promise<Stat> {
    try {
      return await this.#k.client.getattr(ino);
    } catch (err) {
      const last = this.#stats.get(ino);
      const open = [...this.handles.values()].find((h) => h.ino === ino);
      if (!(err instanceof KisekiError && err.code === 'KISEKI_E_NOENT') || !last || !open) throw err;
      return { ...last, nlink: 0, size: open.file.size };
    }
  }

  async #setattr(
    req: Req,
    ino: number,
    toSet: number,
    v: Float64Array,
    fh: number | undefined,
  ): Promise<void> {
    const { client } = this.#k;
    if (toSet & SET_SIZE) {
      const h = fh === undefined ? undefined : this.handles.get(fh);
      if (h) await h.file.truncate(v[3]!);
      else await client.truncate(ino, v[3]!);
    }
    const now = (): Timespec => {
      const ms = Date.now();
      return { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1e6 };
    };
    const attrs = {
      ...(toSet & SET_MODE ? { mode: v[0]! & 0o7777 } : {}),
      ...(toSet & SET_UID ? { uid: v[1]! } : {}),
      ...(toSet & SET_GID ? { gid: v[2]! } : {}),
      ...(toSet & SET_ATIME_NOW
        ? { atime: now() }
        : toSet & SET_ATIME
          ? { atime: { sec: v[4]!, nsec: v[5]! } }
          : {}),
      ...(toSet & SET_MTIME_NOW
        ? { mtime: now() }
        : toSet & SET_MTIME
          ? { mtime: { sec: v[6]!, nsec: v[7]! } }
          : {}),
    };
    const st = Object.keys(attrs).length > 0 ? await client.setattr(ino, attrs) : await this.#getattr(ino);
    this.#fuse.replyAttr(req, this.#fillAttr(st));
  }

  /**
   * The tenant was shredded: refuse every request from now on and drop what the kernel caches
   * for us (pages of open files would otherwise keep serving plaintext).
   */
  async shredded(): Promise<void> {
    if (this.#shredded) return;
    this.#shredded = true;
    const inos = new Set<number>([FUSE_ROOT_ID, ...this.#lookups.keys()]);
    for (const h of this.handles.values()) inos.add(this.#kernelIno(h.ino));
    if (this.#session) await this.#fuse.invalidateInodes(this.#session, Float64Array.from(inos));
  }

  /** Flushes every open file (before unmounting). */
  async flushAll(): Promise<void> {
    await Promise.all([...this.handles.values()].map((h) => h.file.flush().catch(() => {})));
  }
}
