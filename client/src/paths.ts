/**
 * Path-level API over the inode API, with a small dentry cache. Entries this client changes
 * are invalidated at once; entries changed by other clients are seen after `dentry_ttl_ms`
 * (close-to-open consistency for data is handled by FileData, which reloads on open).
 */
import { Readable, Writable } from 'node:stream';
import { KisekiError } from '@kiseki/proto';
import type { CreateOptions, KisekiClient, SetAttrOptions } from './client.ts';
import type { FileData } from './file-data.ts';
import type { DirEntry, Stat } from './types.ts';

export const DENTRY_TTL_MS_DEFAULT = 1000;
export const DENTRIES_MAX = 100_000;
export const SYMLINK_HOPS_MAX = 40;

/** A cached name → inode binding. Attributes are never cached here: they change with data. */
interface Dentry {
  readonly ino: number;
  readonly kind: Stat['kind'];
  readonly expiresAtMs: number;
}

export interface Located {
  readonly parent: number;
  readonly name: string;
  readonly path: string;
}

export function splitPath(path: string): string[] {
  if (!path.startsWith('/'))
    throw new KisekiError('KISEKI_E_INVAL', `paths are absolute within the namespace: '${path}'`);
  return path.split('/').filter((c) => c.length > 0 && c !== '.');
}

function normalize(parts: readonly string[]): string {
  return `/${parts.join('/')}`;
}

export class PathFs {
  readonly #cache = new Map<string, Dentry>();

  constructor(
    readonly client: KisekiClient,
    private readonly dentryTtlMs = DENTRY_TTL_MS_DEFAULT,
  ) {}

  /** Forget cached entries at and under `path` (after a local change). */
  invalidate(path: string): void {
    this.#cache.delete(path);
    const prefix = path === '/' ? '/' : `${path}/`;
    for (const k of this.#cache.keys()) if (k.startsWith(prefix)) this.#cache.delete(k);
  }

  #remember(path: string, stat: Stat): void {
    if (this.#cache.size >= DENTRIES_MAX) this.#cache.clear();
    this.#cache.set(path, { ino: stat.ino, kind: stat.kind, expiresAtMs: Date.now() + this.dentryTtlMs });
  }

  /** Resolves a path without following a final symlink (lstat semantics). */
  async lstat(path: string): Promise<Stat> {
    return (await this.#walk(splitPath(path), false, 0)).stat;
  }

  /** Resolves a path, following symlinks (stat semantics). */
  async stat(path: string): Promise<Stat> {
    return (await this.#walk(splitPath(path), true, 0)).stat;
  }

  async #walk(parts: string[], followLast: boolean, hops: number): Promise<{ stat: Stat; path: string }> {
    let cur: Stat | undefined;
    const done: string[] = [];
    if (parts.length === 0) return { stat: await this.#statRoot(), path: '/' };
    for (let i = 0; i < parts.length; i++) {
      const name = parts[i]!;
      if (name === '..') {
        done.pop();
        cur = undefined;
        continue;
      }
      const parentPath = normalize(done);
      const parent =
        cur ??
        (done.length === 0
          ? // The root is always a directory: its inode and kind are all the walk needs.
            ({ ino: this.client.root, kind: 'dir' } as Stat)
          : (await this.#walk([...done], true, hops)).stat);
      if (parent.kind !== 'dir') throw new KisekiError('KISEKI_E_NOTDIR', `${parentPath} is not a directory`);
      done.push(name);
      const p = normalize(done);
      const last = i === parts.length - 1;
      const hit = this.#cached(p);
      let st: Stat;
      if (hit && (hit.kind === 'dir' || !last)) {
        // Directories on the way only need their inode number and kind.
        st = last ? await this.client.getattr(hit.ino) : ({ ino: hit.ino, kind: hit.kind } as Stat);
      } else if (hit) {
        st = await this.client.getattr(hit.ino);
      } else {
        st = await this.client.lookup(parent.ino, name);
        this.#remember(p, st);
      }
      if (st.kind === 'symlink' && (!last || followLast)) {
        if (hops >= SYMLINK_HOPS_MAX)
          throw new KisekiError('KISEKI_E_INVAL', 'too many levels of symbolic links');
        const target = await this.client.readlink(parent.ino, name);
        done.pop();
        const base = target.startsWith('/') ? [] : [...done];
        const rest = parts.slice(i + 1);
        return this.#walk(
          [...base, ...target.split('/').filter((c) => c && c !== '.'), ...rest],
          followLast,
          hops + 1,
        );
      }
      cur = st;
    }
    return { stat: cur ?? (await this.#walk([...done], true, hops)).stat, path: normalize(done) };
  }

  #cached(path: string): Dentry | undefined {
    const d = this.#cache.get(path);
    if (d && d.expiresAtMs > Date.now()) return d;
    if (d) this.#cache.delete(path);
    return undefined;
  }

  async #statRoot(): Promise<Stat> {
    return this.client.getattr(this.client.root);
  }

  /** Parent directory inode and last component of a path (parent resolved, last not). */
  async locate(path: string): Promise<Located> {
    const parts = splitPath(path);
    const name = parts.pop();
    if (!name || name === '..') throw new KisekiError('KISEKI_E_INVAL', `'${path}' names no entry`);
    const parent = await this.stat(normalize(parts));
    if (parent.kind !== 'dir')
      throw new KisekiError('KISEKI_E_NOTDIR', `${normalize(parts)} is not a directory`);
    return { parent: parent.ino, name, path: normalize([...parts, name]) };
  }

  async readdir(path: string): Promise<DirEntry[]> {
    const st = await this.stat(path);
    if (st.kind !== 'dir') throw new KisekiError('KISEKI_E_NOTDIR', `${path} is not a directory`);
    const entries = await this.client.readdir(st.ino);
    const base = path === '/' ? '' : normalize(splitPath(path));
    for (const e of entries) this.#remember(`${base}/${e.name}`, e.stat);
    return entries;
  }

  async mkdir(path: string, opts: CreateOptions = {}): Promise<Stat> {
    const l = await this.locate(path);
    this.invalidate(l.path);
    return this.client.mkdir(l.parent, l.name, opts);
  }

  async create(path: string, opts: CreateOptions = {}): Promise<Stat> {
    const l = await this.locate(path);
    this.invalidate(l.path);
    return this.client.create(l.parent, l.name, 'file', opts);
  }

  async symlink(target: string, path: string, opts: CreateOptions = {}): Promise<Stat> {
    const l = await this.locate(path);
    this.invalidate(l.path);
    return this.client.symlink(l.parent, l.name, target, opts);
  }

  async readlink(path: string): Promise<string> {
    const l = await this.locate(path);
    return this.client.readlink(l.parent, l.name);
  }

  async unlink(path: string): Promise<void> {
    const l = await this.locate(path);
    this.invalidate(l.path);
    await this.client.unlink(l.parent, l.name);
  }

  async rmdir(path: string): Promise<void> {
    const l = await this.locate(path);
    this.invalidate(l.path);
    await this.client.rmdir(l.parent, l.name);
  }

  async rename(from: string, to: string, opts: { noreplace?: boolean } = {}): Promise<void> {
    const a = await this.locate(from);
    const b = await this.locate(to);
    this.invalidate(a.path);
    this.invalidate(b.path);
    await this.client.rename(a.parent, a.name, b.parent, b.name, opts);
  }

  async setattr(path: string, attrs: SetAttrOptions): Promise<Stat> {
    const st = await this.lstat(path);
    this.invalidate(normalize(splitPath(path)));
    return this.client.setattr(st.ino, attrs);
  }

  async truncate(path: string, size: number): Promise<void> {
    const st = await this.stat(path);
    if (st.kind === 'dir') throw new KisekiError('KISEKI_E_ISDIR', `${path} is a directory`);
    this.invalidate(normalize(splitPath(path)));
    await this.client.truncate(st.ino, size);
  }

  /** Opens (creating when asked) a regular file's data. Pair with `client.release`. */
  async open(
    path: string,
    opts: { create?: boolean; exclusive?: boolean; truncate?: boolean; mode?: number } = {},
  ): Promise<FileData> {
    let st: Stat;
    if (opts.create) {
      st = await this.create(path, { exclusive: opts.exclusive ?? false, mode: opts.mode ?? 0o644 });
    } else {
      st = await this.stat(path);
    }
    if (st.kind === 'dir') throw new KisekiError('KISEKI_E_ISDIR', `${path} is a directory`);
    const f = await this.client.open(st.ino, opts.create ? st : undefined);
    if (opts.truncate && f.size > 0) await f.truncate(0);
    return f;
  }

  async writeFile(path: string, data: Uint8Array, opts: { mode?: number } = {}): Promise<void> {
    const f = await this.open(path, { create: true, truncate: true, ...opts });
    try {
      await f.write(0, data);
    } finally {
      await this.client.release(f);
    }
  }

  async readFile(path: string): Promise<Buffer> {
    const f = await this.open(path);
    try {
      return await f.read(0, f.size);
    } finally {
      await this.client.release(f);
    }
  }

  /** A Readable of a file's bytes, `highWaterMark` bytes per read (default: one block). */
  createReadStream(path: string, opts: { start?: number; highWaterMark?: number } = {}): Readable {
    const piece = opts.highWaterMark ?? this.client.blockSize;
    const open = () => this.open(path);
    const release = (f: FileData) => this.client.release(f);
    let f: FileData | undefined;
    let pos = opts.start ?? 0;
    return new Readable({
      highWaterMark: piece,
      read() {
        (async () => {
          f ??= await open();
          const buf = await f.read(pos, piece);
          pos += buf.length;
          return buf;
        })().then(
          (buf) => this.push(buf.length > 0 ? buf : null),
          (err: Error) => this.destroy(err),
        );
      },
      destroy(err, cb) {
        if (f)
          release(f).then(
            () => cb(err),
            () => cb(err),
          );
        else cb(err);
      },
    });
  }

  /** A Writable that writes a file from its start (created or truncated); `finish` after commit. */
  createWriteStream(path: string, opts: { mode?: number } = {}): Writable {
    let f: FileData | undefined;
    let pos = 0;
    return new Writable({
      highWaterMark: this.client.blockSize,
      write: (chunk: Buffer, _enc, cb) => {
        (async () => {
          f ??= await this.open(path, { create: true, truncate: true, mode: opts.mode ?? 0o644 });
          await f.write(pos, chunk);
          pos += chunk.length;
        })().then(() => cb(), cb);
      },
      final: (cb) => {
        (async () => {
          f ??= await this.open(path, { create: true, truncate: true, mode: opts.mode ?? 0o644 });
          await this.client.release(f);
          f = undefined;
        })().then(() => cb(), cb);
      },
      destroy: (err, cb) => {
        if (f)
          this.client.release(f).then(
            () => cb(err),
            () => cb(err),
          );
        else cb(err);
      },
    });
  }
}
