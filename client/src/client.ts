/**
 * The thick client: a tenant session to a Kiseki node. It seals names and data on this side
 * (I-K1, I-K2), sends chunk bytes straight to the chunk server, and sends composition
 * mutations to the shard's leader. No gateway sits in its data path.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import {
  type Attr__Output,
  EntryPayloadCodec,
  type GetBlocksResponse__Output,
  invariant,
  KisekiError,
  type ListXattrsResponse__Output,
  type LookupResponse__Output,
  type MutateRequest,
  type MutateResponse__Output,
  type ReadDirResponse__Output,
  type StatFsResponse__Output,
  type TenantKeys__Output,
  XattrPayloadCodec,
} from '@kiseki/proto';
import { type CacheMode, L2Cache } from './cache/l2.ts';
import { ChunkIo } from './chunk-io.ts';
import { entryContext, Keyring, openPayload, sealPayload, xattrContext } from './crypto/index.ts';
import { type BlockEntry, FileData, type FileIo } from './file-data.ts';
import { ClientLocks } from './locks.ts';
import { Rpc } from './rpc.ts';
import {
  type DirEntry,
  type FileKind,
  msToTimespec,
  type Stat,
  statFromAttr,
  type Timespec,
  wireKind,
} from './types.ts';

export const NAME_BYTES_MAX = 255;
export const SYMLINK_TARGET_BYTES_MAX = 4096;
export const L1_CACHE_BYTES_DEFAULT = 256 * 1024 * 1024;
export const BLOCK_POOL_BYTES_MAX = 128 * 1024 * 1024;
export const READDIR_PAGE = 1024;
/** Linux's XATTR_NAME_MAX and XATTR_SIZE_MAX. */
export const XATTR_NAME_BYTES_MAX = 255;
export const XATTR_VALUE_BYTES_MAX = 64 * 1024;

export type XattrSetMode = 'set' | 'create' | 'replace';

export interface ConnectOptions {
  /** host:port of a kiseki-server (gRPC, TLS). */
  readonly server: string;
  /** The cluster CA: a PEM path or its bytes. */
  readonly ca: string | Buffer;
  readonly tenant: string;
  /** The tenant workload credential (or a path to a file holding it, with credentialFile). */
  readonly credential?: string;
  readonly credentialFile?: string;
  readonly clientName?: string;
  /** Decrypted-block cache (L1, memory) bound. */
  readonly cacheBytes?: number;
  /** The L2 cache on local disk (sealed chunk envelopes): its root directory, bound and mode.
   * Without a directory there is no L2. */
  readonly l2?: { readonly dir: string; readonly capacityBytes: number; readonly mode: CacheMode };
  readonly connectTimeoutMs?: number;
  /** Reach chunk servers at this base URL instead of the one the node advertises (NAT, proxies). */
  readonly chunkUrl?: string;
}

export interface CreateOptions {
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  /** O_EXCL: fail with KISEKI_E_EXIST when the name exists. */
  readonly exclusive?: boolean;
}

export interface SetAttrOptions {
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly atime?: Timespec;
  readonly mtime?: Timespec;
}

function checkName(name: string): void {
  if (name.length === 0 || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new KisekiError('KISEKI_E_INVAL', `invalid file name '${name}'`);
  }
  if (Buffer.byteLength(name) > NAME_BYTES_MAX)
    throw new KisekiError('KISEKI_E_NAMETOOLONG', 'file name longer than 255 bytes');
}

/** A file the session needs (CA, credential): a clear error when it can't be read. */
function readSetupFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new KisekiError(
      code === 'ENOENT' ? 'KISEKI_E_NOENT' : 'KISEKI_E_ACCES',
      `can't read the ${what} at ${path} (${code})`,
    );
  }
}

function checkXattrName(name: string): void {
  if (name.length === 0 || name.includes('\0'))
    throw new KisekiError('KISEKI_E_INVAL', 'invalid extended attribute name');
  if (Buffer.byteLength(name) > XATTR_NAME_BYTES_MAX)
    throw new KisekiError('KISEKI_E_RANGE', 'extended attribute name longer than 255 bytes');
}

export class KisekiClient {
  readonly tenant: string;
  readonly root: number;
  readonly blockSize: number;
  readonly rpc: Rpc;
  /** Chunk sealing, transport and the L1 block cache, on worker threads (chunk-io.ts). */
  readonly #chunkIo: ChunkIo;
  readonly #dedup: 'tenant' | 'global';
  #keyring: Keyring | undefined;
  #keyFetch: Promise<Keyring> | undefined;
  /** Highest seq this client has seen committed: reads wait for the view to reach it. */
  #lastSeq = 0;
  readonly #files = new Map<number, FileData>();
  readonly #opening = new Map<number, Promise<FileData>>();
  readonly #pool: Buffer[] = [];
  /** Counters for tests and `kiseki cache stats`. */
  readonly stats = { chunkGets: 0, chunkPuts: 0, cacheHits: 0, l2Hits: 0 };
  readonly l2: L2Cache | undefined;
  /** Advisory locks shared with every client of the tenant. */
  readonly locks: ClientLocks;

  private constructor(
    rpc: Rpc,
    chunks: { baseUrl: string; token(): string; refresh(): Promise<string> },
    s: { tenant: string; root: number; blockSize: number; dedup: 'tenant' | 'global' },
    cacheBytes: number,
    l2?: L2Cache,
  ) {
    this.l2 = l2;
    this.rpc = rpc;
    this.locks = new ClientLocks(rpc);
    this.tenant = s.tenant;
    this.root = s.root;
    this.blockSize = s.blockSize;
    this.#dedup = s.dedup;
    this.#chunkIo = new ChunkIo({
      ...chunks,
      tenant: s.tenant,
      blockSize: s.blockSize,
      cacheBytes,
      ...(l2 ? { l2 } : {}),
      stats: this.stats,
    });
    this.#fileIo = this.#makeFileIo();
  }

  /** Opens a tenant session: TLS to the node, credential check, key material. */
  static async connect(opts: ConnectOptions): Promise<KisekiClient> {
    const caCert = typeof opts.ca === 'string' ? readSetupFile(opts.ca, 'cluster CA') : opts.ca;
    const credential =
      opts.credential ??
      (opts.credentialFile
        ? readSetupFile(opts.credentialFile, 'tenant credential').toString('utf8').trim()
        : undefined);
    if (!credential)
      throw new KisekiError('KISEKI_E_AUTH', 'no tenant credential given (credential or credentialFile)');
    const rpc = new Rpc({ server: opts.server, caCert });
    try {
      await rpc.waitReady(opts.connectTimeoutMs);
      const clientName = opts.clientName ?? `${hostname()}:${process.pid}`;
      const s = await rpc.openSession(opts.tenant, credential, clientName);
      rpc.setSession(
        s.sessionToken,
        async () => (await rpc.openSession(opts.tenant, credential, clientName)).sessionToken,
      );
      const c = new KisekiClient(
        rpc,
        {
          baseUrl: opts.chunkUrl ?? s.chunkUrl,
          token: () => rpc.token,
          refresh: () => rpc.refreshSession(),
        },
        {
          tenant: opts.tenant,
          root: s.rootIno,
          blockSize: s.blockSize,
          dedup: s.dedup === 'DEDUP_POLICY_GLOBAL' ? 'global' : 'tenant',
        },
        opts.cacheBytes ?? L1_CACHE_BYTES_DEFAULT,
        opts.l2 && opts.l2.mode !== 'bypass' ? L2Cache.open({ ...opts.l2, tenant: opts.tenant }) : undefined,
      );
      await c.keys();
      return c;
    } catch (err) {
      rpc.close();
      throw err;
    }
  }

  // ---- keys -----------------------------------------------------------------------------

  /** The tenant keyring, fetched again once its cache TTL has passed (bounds shred time, I-K5). */
  async keys(): Promise<Keyring> {
    if (this.#keyring && this.#keyring.expiresAtMs > Date.now()) return this.#keyring;
    this.#keyFetch ??= (async () => {
      try {
        const k = await this.rpc.call<object, TenantKeys__Output>(this.rpc.clients.key, 'GetTenantKeys', {});
        const ring = new Keyring(
          k.epochs.map((e) => ({ epoch: e.epoch, tenantKey: e.tenantKey, systemPart: e.systemPart })),
          k.currentEpoch,
          this.#dedup,
          k.cacheTtlMs,
        );
        for (const e of k.epochs) {
          e.tenantKey.fill(0);
          e.systemPart.fill(0);
        }
        this.#keyring?.destroy();
        this.#keyring = ring;
        this.#chunkIo.setKeys(ring.chunkKeyMaterial());
        return ring;
      } catch (err) {
        if (err instanceof KisekiError && err.code === 'KISEKI_E_SHREDDED') this.#forgetTenant();
        throw err;
      } finally {
        this.#keyFetch = undefined;
      }
    })();
    return this.#keyFetch;
  }

  /** The tenant was crypto-shredded: drop every key and every cached block, here and on disk. */
  #forgetTenant(): void {
    this.#keyring?.destroy();
    this.#keyring = undefined;
    this.#chunkIo.forgetKeys();
    this.#chunkIo.clearCache();
    this.l2?.wipe();
  }

  // ---- namespace ------------------------------------------------------------------------

  /** Live reads see this client's own writes; a pinned read sees the view as of its pin (I-V2). */
  #read(pin = 0) {
    return pin ? { pin, minSeq: 0 } : { pin: 0, minSeq: this.#lastSeq };
  }

  /** Attributes as the server has them, with this client's unflushed size on live reads. */
  #stat(a: Attr__Output, pin: number): Stat {
    return pin ? statFromAttr(a) : this.#withLocal(a);
  }

  async #mutate(req: MutateRequest): Promise<MutateResponse__Output> {
    const res = await this.rpc.call<MutateRequest, MutateResponse__Output>(
      this.rpc.clients.composition,
      'Mutate',
      req,
    );
    if (res.seq > this.#lastSeq) this.#lastSeq = res.seq;
    return res;
  }

  #withLocal(a: Attr__Output): Stat {
    const s = statFromAttr(a);
    const f = this.#files.get(s.ino);
    if (!f || s.kind !== 'file') return s;
    return { ...s, size: f.size, ...(f.mtimeMs !== undefined ? { mtime: msToTimespec(f.mtimeMs) } : {}) };
  }

  /** `pin`: read as of an MVCC pin (see Snapshot) instead of the live view. */
  async getattr(ino: number, pin = 0): Promise<Stat> {
    const a = await this.rpc.call<object, Attr__Output>(this.rpc.clients.view, 'GetAttr', {
      ino,
      read: this.#read(pin),
    });
    return this.#stat(a, pin);
  }

  async lookup(parent: number, name: string): Promise<Stat> {
    checkName(name);
    const keys = await this.keys();
    const r = await this.rpc.call<object, LookupResponse__Output>(this.rpc.clients.view, 'Lookup', {
      parent,
      nameToken: keys.nameToken(parent, name),
      read: this.#read(),
    });
    invariant(r.attr, 'lookup returns attributes');
    return this.#withLocal(r.attr);
  }

  /** Every entry of a directory, names opened on this side (`pin`: as of an MVCC pin). */
  async readdir(ino: number, pin = 0): Promise<DirEntry[]> {
    const keys = await this.keys();
    const out: DirEntry[] = [];
    let after: Buffer = Buffer.alloc(0);
    for (;;) {
      const r = await this.rpc.call<object, ReadDirResponse__Output>(this.rpc.clients.view, 'ReadDir', {
        ino,
        afterToken: after,
        limit: READDIR_PAGE,
        read: this.#read(pin),
      });
      for (const e of r.entries) {
        const name = EntryPayloadCodec.decode(
          openPayload(keys, e.payload, entryContext(this.tenant, ino, e.nameToken)),
        ).name;
        out.push({ name, stat: this.#stat(e.attr!, pin) });
        after = e.nameToken;
      }
      if (!r.more || r.entries.length === 0) return out;
    }
  }

  async create(
    parent: number,
    name: string,
    kind: FileKind,
    opts: CreateOptions & { target?: string } = {},
  ): Promise<Stat> {
    checkName(name);
    if (kind === 'symlink') {
      const t = opts.target ?? '';
      if (t.length === 0 || Buffer.byteLength(t) > SYMLINK_TARGET_BYTES_MAX) {
        throw new KisekiError(
          t.length === 0 ? 'KISEKI_E_NOENT' : 'KISEKI_E_NAMETOOLONG',
          'symlink target empty or too long',
        );
      }
    }
    const keys = await this.keys();
    const token = keys.nameToken(parent, name);
    const payload = sealPayload(
      keys,
      EntryPayloadCodec.encode({ name, symlinkTarget: opts.target ?? '' }),
      entryContext(this.tenant, parent, token),
    );
    const res = await this.#mutate({
      create: {
        parent,
        nameToken: token,
        kind: wireKind(kind),
        mode: opts.mode ?? (kind === 'dir' ? 0o755 : kind === 'symlink' ? 0o777 : 0o644),
        uid: opts.uid ?? 0,
        gid: opts.gid ?? 0,
        exclusive: opts.exclusive ?? false,
        symlinkBytes: kind === 'symlink' ? Buffer.byteLength(opts.target ?? '') : 0,
      },
      payload,
    });
    return statFromAttr(res.attr!);
  }

  async mkdir(parent: number, name: string, opts: CreateOptions = {}): Promise<Stat> {
    return this.create(parent, name, 'dir', { ...opts, exclusive: true });
  }

  async symlink(parent: number, name: string, target: string, opts: CreateOptions = {}): Promise<Stat> {
    return this.create(parent, name, 'symlink', { ...opts, target, exclusive: true });
  }

  /** The target of the symlink `name` in `parent` (sealed with its entry, so opened by entry). */
  async readlink(parent: number, name: string): Promise<string> {
    const keys = await this.keys();
    const token = keys.nameToken(parent, name);
    const r = await this.rpc.call<object, LookupResponse__Output>(this.rpc.clients.view, 'Lookup', {
      parent,
      nameToken: token,
      read: this.#read(),
    });
    const a = r.attr!;
    if (a.kind !== 'FILE_KIND_SYMLINK') throw new KisekiError('KISEKI_E_INVAL', 'not a symbolic link');
    return EntryPayloadCodec.decode(openPayload(keys, a.payload, entryContext(this.tenant, parent, token)))
      .symlinkTarget;
  }

  async unlink(parent: number, name: string): Promise<void> {
    checkName(name);
    const keys = await this.keys();
    await this.#mutate({ remove: { parent, nameToken: keys.nameToken(parent, name), dir: false } });
  }

  async rmdir(parent: number, name: string): Promise<void> {
    checkName(name);
    const keys = await this.keys();
    await this.#mutate({ remove: { parent, nameToken: keys.nameToken(parent, name), dir: true } });
  }

  async rename(
    srcParent: number,
    srcName: string,
    dstParent: number,
    dstName: string,
    opts: { noreplace?: boolean } = {},
  ): Promise<void> {
    checkName(srcName);
    checkName(dstName);
    const keys = await this.keys();
    const src = await this.lookup(srcParent, srcName);
    // A symlink's target is sealed with its entry, so it moves with a fresh seal.
    const target = src.kind === 'symlink' ? await this.readlink(srcParent, srcName) : '';
    const dstToken = keys.nameToken(dstParent, dstName);
    await this.#mutate({
      rename: {
        srcParent,
        srcToken: keys.nameToken(srcParent, srcName),
        dstParent,
        dstToken,
        noreplace: opts.noreplace ?? false,
      },
      payload: sealPayload(
        keys,
        EntryPayloadCodec.encode({ name: dstName, symlinkTarget: target }),
        entryContext(this.tenant, dstParent, dstToken),
      ),
    });
  }

  async setattr(ino: number, a: SetAttrOptions): Promise<Stat> {
    const res = await this.#mutate({
      setattr: {
        ino,
        ...(a.mode !== undefined ? { mode: a.mode } : {}),
        ...(a.uid !== undefined ? { uid: a.uid } : {}),
        ...(a.gid !== undefined ? { gid: a.gid } : {}),
        ...(a.atime ? { atime: a.atime } : {}),
        ...(a.mtime ? { mtime: a.mtime } : {}),
      },
    });
    const f = this.#files.get(ino);
    if (f && a.mtime) f.mtimeMs = undefined;
    return this.#withLocal(res.attr!);
  }

  /** A second name for inode `ino` (a hard link); returns the inode's new attributes. */
  async link(ino: number, parent: number, name: string): Promise<Stat> {
    checkName(name);
    const keys = await this.keys();
    const token = keys.nameToken(parent, name);
    const res = await this.#mutate({
      link: { ino, parent, nameToken: token },
      payload: sealPayload(
        keys,
        EntryPayloadCodec.encode({ name, symlinkTarget: '' }),
        entryContext(this.tenant, parent, token),
      ),
    });
    return this.#withLocal(res.attr!);
  }

  /** Every extended attribute of an inode, names and values opened on this side. */
  async xattrs(ino: number): Promise<Map<string, Buffer>> {
    const keys = await this.keys();
    const r = await this.rpc.call<object, ListXattrsResponse__Output>(this.rpc.clients.view, 'ListXattrs', {
      ino,
      read: this.#read(),
    });
    const out = new Map<string, Buffer>();
    for (const x of r.xattrs) {
      const p = XattrPayloadCodec.decode(
        openPayload(keys, x.payload, xattrContext(this.tenant, ino, x.nameToken)),
      );
      out.set(p.name, Buffer.from(p.value));
    }
    return out;
  }

  /** One extended attribute's value; NODATA when the inode has no such attribute. */
  async getxattr(ino: number, name: string): Promise<Buffer> {
    checkXattrName(name);
    const v = (await this.xattrs(ino)).get(name);
    if (!v) throw new KisekiError('KISEKI_E_NODATA', `no extended attribute '${name}'`);
    return v;
  }

  async setxattr(ino: number, name: string, value: Uint8Array, mode: XattrSetMode = 'set'): Promise<void> {
    checkXattrName(name);
    if (value.length > XATTR_VALUE_BYTES_MAX)
      throw new KisekiError('KISEKI_E_TOOBIG', 'extended attribute value longer than 64 KiB');
    const keys = await this.keys();
    const token = keys.xattrToken(ino, name);
    await this.#mutate({
      xattr: {
        ino,
        nameToken: token,
        mode:
          mode === 'create'
            ? 'XATTR_MODE_CREATE'
            : mode === 'replace'
              ? 'XATTR_MODE_REPLACE'
              : 'XATTR_MODE_SET',
      },
      payload: sealPayload(
        keys,
        XattrPayloadCodec.encode({ name, value }),
        xattrContext(this.tenant, ino, token),
      ),
    });
  }

  async removexattr(ino: number, name: string): Promise<void> {
    checkXattrName(name);
    const keys = await this.keys();
    await this.#mutate({
      xattr: { ino, nameToken: keys.xattrToken(ino, name), mode: 'XATTR_MODE_REMOVE' },
    });
  }

  /** Capacity as this tenant sees it. */
  async statfs(): Promise<StatFsResponse__Output> {
    return this.rpc.call<object, StatFsResponse__Output>(this.rpc.clients.view, 'StatFs', {});
  }

  // ---- file data ------------------------------------------------------------------------

  /** Opens the data of a regular file; every open must be paired with `release`. Pass the
   * Stat a create just returned to skip loading a file known to be empty. */
  async open(ino: number, created?: Stat): Promise<FileData> {
    const empty =
      created !== undefined && created.ino === ino && created.kind === 'file' && created.size === 0;
    this.#chunkIo.warm(); // file data is coming: have the chunk workers ready
    let f = this.#files.get(ino);
    if (!f) {
      let p = this.#opening.get(ino);
      if (!p) {
        p = FileData.open(ino, this.#fileIo, empty).finally(() => this.#opening.delete(ino));
        this.#opening.set(ino, p);
      }
      f = await p;
      const raced = this.#files.get(ino);
      if (raced) f = raced;
      else this.#files.set(ino, f);
    }
    f.refs++;
    return f;
  }

  /** Flushes and drops one reference; the last one frees the file's buffers. */
  async release(f: FileData): Promise<void> {
    invariant(f.refs > 0, 'release of an open file');
    try {
      await f.flush();
    } finally {
      f.refs--;
      // Last close: drop the buffers even if the flush failed. The failure was reported to the
      // closer (close(2) gets it from FUSE flush); keeping the bytes would show data the server
      // never stored and could commit it later, after the application was told it failed.
      if (f.refs === 0 && this.#files.get(f.ino) === f) {
        this.#files.delete(f.ino);
        f.discard();
      }
    }
  }

  async truncate(ino: number, size: number): Promise<void> {
    const f = await this.open(ino);
    try {
      await f.truncate(size);
    } finally {
      await this.release(f);
    }
  }

  readonly #fileIo: FileIo;

  #makeFileIo(): FileIo {
    return {
      blockSize: this.blockSize,
      putBlock: (pt) => this.#putBlock(pt),
      readBlock: (chunk, len, use) => this.#readBlock(chunk, len, use),
      loadBlocks: (ino) => this.#loadBlocks(ino),
      commit: (ino, size, blocks, mtimeMs) => this.#commit(ino, size, blocks, mtimeMs),
      allocBlock: () => {
        const b = this.#pool.pop();
        if (b) return b;
        return Buffer.alloc(this.blockSize);
      },
      freeBlock: (b) => {
        if ((this.#pool.length + 1) * this.blockSize <= BLOCK_POOL_BYTES_MAX) this.#pool.push(b);
      },
      prefetch: (chunk, len) => {
        if (this.#keysFresh()) this.#chunkIo.prefetch(chunk, len);
      },
      evict: (chunk) => this.#chunkIo.evict(chunk),
    };
  }

  #keysFresh(): boolean {
    return this.#keyring !== undefined && this.#keyring.expiresAtMs > Date.now();
  }

  /** Seals and stores a block on a chunk worker (the bytes are copied before this returns). */
  #putBlock(pt: Buffer): Promise<string> {
    if (!this.#keysFresh()) {
      // Keys are stale: seal after refreshing. Copy first so the caller may reuse its buffer.
      const copy = Buffer.from(pt);
      return this.keys().then(() => this.#putBlock(copy));
    }
    return this.#chunkIo.put(pt);
  }

  async #readBlock(chunk: string, len: number, use: (pt: Buffer) => void): Promise<void> {
    if (!this.#keysFresh()) await this.keys();
    return this.#chunkIo.read(chunk, len, use);
  }

  /** Reads one block's plaintext into `out` at `offset` (snapshot reads, see snapshot.ts). */
  async readBlockInto(chunk: string, len: number, out: Buffer, offset: number): Promise<void> {
    await this.#readBlock(chunk, len, (pt) => pt.copy(out, offset, 0, len));
  }

  /**
   * Brings every chunk of a file into the L2 cache as pinned (staging, `kiseki stage`), so later
   * reads need no chunk server. Returns the bytes staged.
   */
  async stage(ino: number, onChunk?: (bytes: number) => void): Promise<number> {
    if (!this.l2 || this.l2.mode === 'bypass')
      throw new KisekiError(
        'KISEKI_E_INVAL',
        'staging needs an L2 cache (a cache directory, mode pinned or organic)',
      );
    const { blocks } = await this.#loadBlocks(ino);
    let bytes = 0;
    for (const b of blocks.values()) {
      if (!b.chunk) continue;
      if (!this.#keysFresh()) await this.keys();
      await this.#chunkIo.stage(b.chunk, b.len);
      bytes += b.len;
      onChunk?.(b.len);
    }
    return bytes;
  }

  /** A file's size and block map as of an MVCC pin (snapshot reads). */
  blockMap(ino: number, pin: number): Promise<{ size: number; blocks: Map<number, BlockEntry> }> {
    return this.#loadBlocks(ino, pin);
  }

  async #loadBlocks(ino: number, pin = 0): Promise<{ size: number; blocks: Map<number, BlockEntry> }> {
    const blocks = new Map<number, BlockEntry>();
    let size = 0;
    for (let from = 0; ; ) {
      const r = await this.rpc.call<object, GetBlocksResponse__Output>(this.rpc.clients.view, 'GetBlocks', {
        ino,
        fromIndex: from,
        toIndex: Number.MAX_SAFE_INTEGER,
        read: this.#read(pin),
      });
      const attr = r.attr!;
      if (attr.kind === 'FILE_KIND_DIR') throw new KisekiError('KISEKI_E_ISDIR', 'is a directory');
      size = attr.size;
      for (const b of r.blocks) blocks.set(b.index, { chunk: b.chunkId.toString('hex'), len: b.len });
      const nblocks = Math.ceil(size / this.blockSize);
      const last = r.blocks.at(-1)?.index ?? -1;
      // A page ends at 65536 blocks; ask again past the last block returned.
      if (r.blocks.length < 65_536 || last + 1 >= nblocks) return { size, blocks };
      from = last + 1;
    }
  }

  async #commit(
    ino: number,
    size: number,
    blocks: Array<{ index: number; chunk: string; len: number }>,
    mtimeMs: number,
  ): Promise<void> {
    const BATCH = 4096;
    let i = 0;
    do {
      const part = blocks.slice(i, i + BATCH);
      await this.#mutate({
        write: {
          ino,
          size,
          blocks: part.map((b) => ({
            index: b.index,
            chunkId: b.chunk ? Buffer.from(b.chunk, 'hex') : Buffer.alloc(0),
            len: b.len,
          })),
          mtime: msToTimespec(mtimeMs),
          blockSize: this.blockSize,
        },
      });
      i += BATCH;
    } while (i < blocks.length);
  }

  /** Flushes every open file and closes the session. */
  async close(): Promise<void> {
    const errors: unknown[] = [];
    for (const f of this.#files.values()) await f.flush().catch((e) => errors.push(e));
    this.#files.clear();
    await this.locks.close();
    this.#keyring?.destroy();
    this.#keyring = undefined;
    await this.#chunkIo.close();
    this.rpc.close();
    if (errors.length) throw errors[0];
  }

  get cacheStats() {
    return { ...this.stats, l1Bytes: this.#chunkIo.cacheBytes, ...(this.l2 ? { l2: this.l2.stats() } : {}) };
  }
}
