/**
 * The POSIX adapter: FUSE operations (libfuse high-level, path based) mapped onto the thick
 * client. Each failure carries its errno from the error registry; unexpected ones become EIO
 * and are logged, never swallowed.
 */
import { constants } from 'node:os';
import type { FileData, Kiseki, Stat } from '@kiseki/client';
import { msToTimespec } from '@kiseki/client';
import { KisekiError } from '@kiseki/proto';
import { fuseErrno } from './errno.ts';

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const O_ACCMODE = 3;
const O_TRUNC = 0o1000;
export const OPEN_FILES_MAX = 65_536;

export interface FuseStat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  ino: number;
  blksize: number;
  blocks: number;
  atime: number;
  mtime: number;
  ctime: number;
}

function ms(t: { sec: number; nsec: number }): number {
  return t.sec * 1000 + Math.floor(t.nsec / 1e6);
}

export function toFuseStat(s: Stat, blockSize: number): FuseStat {
  const type = s.kind === 'dir' ? S_IFDIR : s.kind === 'symlink' ? S_IFLNK : S_IFREG;
  return {
    mode: type | (s.mode & 0o7777),
    uid: s.uid,
    gid: s.gid,
    size: s.size,
    nlink: s.nlink,
    ino: s.ino,
    blksize: blockSize,
    blocks: Math.ceil(s.size / 512),
    atime: ms(s.atime),
    mtime: ms(s.mtime),
    ctime: ms(s.ctime),
  };
}

interface Handle {
  readonly ino: number;
  readonly file: FileData;
  readonly writable: boolean;
}

type Cb = (...args: unknown[]) => void;

export interface OpsOptions {
  readonly onError?: (op: string, path: string, err: unknown) => void;
  /** uid/gid given to new entries (libfuse2's high-level API hides the caller). */
  readonly uid?: number;
  readonly gid?: number;
}

export function makeOps(k: Kiseki, opts: OpsOptions = {}) {
  const { client, fs } = k;
  const handles = new Map<number, Handle>();
  let nextFd = 1;
  const uid = opts.uid ?? process.getuid?.() ?? 0;
  const gid = opts.gid ?? process.getgid?.() ?? 0;
  const bs = client.blockSize;

  /** Runs an async op and answers FUSE: `0`/value on success, a negative errno on failure. */
  const run = (op: string, path: string, cb: Cb, fn: () => Promise<unknown[] | undefined>) => {
    fn().then(
      (res) => cb(0, ...(res ?? [])),
      (err) => {
        const errno = fuseErrno(err);
        if (!(err instanceof KisekiError)) opts.onError?.(op, path, err);
        cb(errno);
      },
    );
  };
  /** Data ops answer with a byte count or a negative errno, not (err, value). */
  const io = (
    op: string,
    path: string,
    fd: number,
    cb: (n: number) => void,
    fn: (h: Handle) => Promise<number>,
  ) => {
    Promise.resolve()
      .then(() => fn(handle(fd)))
      .then(cb, (err) => {
        if (!(err instanceof KisekiError)) opts.onError?.(op, path, err);
        cb(fuseErrno(err));
      });
  };
  const handle = (fd: number): Handle => {
    const h = handles.get(fd);
    if (!h) throw new KisekiError('KISEKI_E_BADF', `bad file handle ${fd}`);
    return h;
  };
  const addHandle = (ino: number, file: FileData, writable: boolean): number => {
    if (handles.size >= OPEN_FILES_MAX) throw new KisekiError('KISEKI_E_BUSY', 'too many open files');
    while (handles.has(nextFd)) nextFd = (nextFd % 0x7fffffff) + 1;
    const fd = nextFd;
    nextFd = (nextFd % 0x7fffffff) + 1;
    handles.set(fd, { ino, file, writable });
    return fd;
  };

  return {
    handles,
    ops: {
      init(cb: Cb) {
        cb(0);
      },
      statfs(path: string, cb: Cb) {
        run('statfs', path, cb, async () => {
          const s = await client.statfs();
          const unit = 4096;
          return [
            {
              bsize: unit,
              frsize: unit,
              blocks: Math.floor(s.capacityBytes / unit),
              bfree: Math.floor(s.freeBytes / unit),
              bavail: Math.floor(s.freeBytes / unit),
              files: 2 ** 32,
              ffree: 2 ** 32 - s.inodes,
              favail: 2 ** 32 - s.inodes,
              fsid: 0x6b736b,
              flag: 0,
              namemax: s.maxNameBytes,
            },
          ];
        });
      },
      getattr(path: string, cb: Cb) {
        run('getattr', path, cb, async () => [toFuseStat(await fs.lstat(path), bs)]);
      },
      fgetattr(path: string, fd: number, cb: Cb) {
        run('fgetattr', path, cb, async () => [toFuseStat(await client.getattr(handle(fd).ino), bs)]);
      },
      access(path: string, _mode: number, cb: Cb) {
        run('access', path, cb, async () => {
          await fs.lstat(path);
          return undefined;
        });
      },
      readdir(path: string, cb: Cb) {
        run('readdir', path, cb, async () => {
          const entries = await fs.readdir(path);
          const self = await fs.stat(path);
          return [
            ['.', '..', ...entries.map((e) => e.name)],
            [toFuseStat(self, bs), toFuseStat(self, bs), ...entries.map((e) => toFuseStat(e.stat, bs))],
          ];
        });
      },
      readlink(path: string, cb: Cb) {
        run('readlink', path, cb, async () => [await fs.readlink(path)]);
      },
      mkdir(path: string, mode: number, cb: Cb) {
        run('mkdir', path, cb, async () => {
          await fs.mkdir(path, { mode: mode & 0o7777, uid, gid });
          return undefined;
        });
      },
      rmdir(path: string, cb: Cb) {
        run('rmdir', path, cb, async () => void (await fs.rmdir(path)));
      },
      unlink(path: string, cb: Cb) {
        run('unlink', path, cb, async () => void (await fs.unlink(path)));
      },
      rename(src: string, dst: string, cb: Cb) {
        run('rename', src, cb, async () => void (await fs.rename(src, dst)));
      },
      symlink(target: string, path: string, cb: Cb) {
        run('symlink', path, cb, async () => void (await fs.symlink(target, path, { uid, gid })));
      },
      link(_src: string, _dst: string, cb: Cb) {
        cb(-constants.errno.ENOTSUP); // hard links arrive with issue 6
      },
      chmod(path: string, mode: number, cb: Cb) {
        run('chmod', path, cb, async () => void (await fs.setattr(path, { mode: mode & 0o7777 })));
      },
      chown(path: string, u: number, g: number, cb: Cb) {
        run('chown', path, cb, async () => {
          const keep = 0xffffffff;
          await fs.setattr(path, {
            ...(u !== keep && u !== -1 ? { uid: u } : {}),
            ...(g !== keep && g !== -1 ? { gid: g } : {}),
          });
          return undefined;
        });
      },
      utimens(path: string, atime: number, mtime: number, cb: Cb) {
        run('utimens', path, cb, async () => {
          await fs.setattr(path, { atime: msToTimespec(atime), mtime: msToTimespec(mtime) });
          return undefined;
        });
      },
      truncate(path: string, size: number, cb: Cb) {
        run('truncate', path, cb, async () => void (await fs.truncate(path, size)));
      },
      ftruncate(path: string, fd: number, size: number, cb: Cb) {
        run('ftruncate', path, cb, async () => void (await handle(fd).file.truncate(size)));
      },
      create(path: string, mode: number, cb: Cb) {
        run('create', path, cb, async () => {
          const st = await fs.create(path, { mode: mode & 0o7777, uid, gid });
          const file = await client.open(st.ino, st);
          return [addHandle(st.ino, file, true)];
        });
      },
      open(path: string, flags: number, cb: Cb) {
        run('open', path, cb, async () => {
          const st = await fs.stat(path);
          if (st.kind === 'dir') throw new KisekiError('KISEKI_E_ISDIR', 'is a directory');
          const file = await client.open(st.ino);
          try {
            if (flags & O_TRUNC && file.size > 0) await file.truncate(0);
          } catch (err) {
            await client.release(file).catch(() => {});
            throw err;
          }
          return [addHandle(st.ino, file, (flags & O_ACCMODE) !== 0)];
        });
      },
      read(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (n: number) => void) {
        io('read', path, fd, cb, (h) => h.file.readInto(pos, buf.subarray(0, len)));
      },
      write(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (n: number) => void) {
        // `buf` is FUSE's memory, valid until we answer: write copies it before resolving.
        io('write', path, fd, cb, (h) => h.file.write(pos, buf.subarray(0, len)));
      },
      flush(path: string, fd: number, cb: Cb) {
        // close(2) → flush: data is committed when close returns (close-to-open consistency).
        run('flush', path, cb, async () => void (await handle(fd).file.flush()));
      },
      fsync(path: string, _datasync: number, fd: number, cb: Cb) {
        run('fsync', path, cb, async () => void (await handle(fd).file.flush()));
      },
      release(path: string, fd: number, cb: Cb) {
        run('release', path, cb, async () => {
          const h = handles.get(fd);
          if (!h) return undefined;
          handles.delete(fd);
          await client.release(h.file);
          return undefined;
        });
      },
    },
  };
}
