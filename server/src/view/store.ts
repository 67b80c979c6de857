/**
 * The materialized view of tenant namespaces: inodes, directory entries, block maps and chunk
 * reference counts, kept in lmdb and derived from the log alone (I-V1). `apply` is the only
 * writer: deterministic, one delta per transaction, and it advances the watermark in the same
 * transaction, so the view is always a consistent prefix of its log (I-V2).
 *
 * The environment is opened with noSync: the log is the durable ground truth and the view is
 * rebuilt from it when it is missing or damaged (see docs/decisions/0002-storage-engines.md).
 * A process kill loses nothing here (writes reach the page cache before commit returns); a
 * machine crash may cost a replay.
 */
import { rmSync } from 'node:fs';
import { type DeltaHeader__Output, invariant, KisekiError, type Timespec__Output } from '@kiseki/proto';
import { type Database, open, type RootDatabase, type Transaction } from 'lmdb';
import { type BlockRec, type DirentRec, type InodeRec, kindFromWire, type Time } from './records.ts';

export const ROOT = 1;
const MODE_MASK = 0o7777;

/** A read context: the live view, or a pinned MVCC snapshot (I-V4). */
export interface ReadCtx {
  readonly transaction?: Transaction;
}

export interface ViewStoreOptions {
  readonly dir: string;
  /** Block size of new namespaces; fixed per file once written. */
  readonly blockSize: number;
}

function t(ts: Timespec__Output | null | undefined, fallback: Time): Time {
  return ts && (ts.sec !== 0 || ts.nsec !== 0) ? { sec: ts.sec, nsec: ts.nsec } : fallback;
}

export class ViewStore {
  readonly #env: RootDatabase;
  readonly #inodes: Database<InodeRec, [string, number]>;
  readonly #dirents: Database<DirentRec, [string, number, string]>;
  readonly #blocks: Database<BlockRec, [string, number, number]>;
  readonly #chunkrefs: Database<number, [string, string]>;
  /** Sealed XattrPayloads by (tenant, inode, name token). */
  readonly #xattrs: Database<Uint8Array, [string, number, string]>;
  readonly #meta: Database<number, string>;
  readonly blockSize: number;

  private constructor(env: RootDatabase, blockSize: number) {
    this.#env = env;
    this.#inodes = env.openDB({ name: 'inodes' });
    this.#dirents = env.openDB({ name: 'dirents' });
    this.#blocks = env.openDB({ name: 'blocks' });
    this.#chunkrefs = env.openDB({ name: 'chunkrefs' });
    this.#xattrs = env.openDB({ name: 'xattrs' });
    this.#meta = env.openDB({ name: 'meta' });
    this.blockSize = blockSize;
  }

  static open(opts: ViewStoreOptions): ViewStore {
    const env = open({ path: opts.dir, noSync: true, maxDbs: 12, mapSize: 8 * 1024 ** 3 });
    return new ViewStore(env, opts.blockSize);
  }

  /** Deletes a view's files so it can be rebuilt from the log (I-V1). */
  static destroy(dir: string): void {
    rmSync(dir, { recursive: true, force: true });
  }

  async close(): Promise<void> {
    await this.#env.close();
  }

  watermark(shard: string): number {
    return this.#meta.get(`watermark:${shard}`) ?? 0;
  }

  nextIno(tenant: string): number {
    return this.#meta.get(`nextIno:${tenant}`) ?? ROOT + 1;
  }

  /** Creates a tenant's root directory if absent (a view-local bootstrap, same on every replay). */
  ensureRoot(tenant: string, blockSize: number, createdAtMs: number): void {
    if (this.#inodes.get([tenant, ROOT])) return;
    const epoch = { sec: Math.floor(createdAtMs / 1000), nsec: (createdAtMs % 1000) * 1e6 };
    this.#inodes.putSync([tenant, ROOT], {
      kind: 'dir',
      mode: 0o755,
      uid: 0,
      gid: 0,
      size: 0,
      atime: epoch,
      mtime: epoch,
      ctime: epoch,
      nlink: 2,
      version: 0,
      parent: ROOT,
      entries: 0,
      blockSize,
    });
  }

  // ---- reads ----------------------------------------------------------------------------

  getInode(tenant: string, ino: number, ctx: ReadCtx = {}): InodeRec | undefined {
    return this.#inodes.get([tenant, ino], ctx);
  }

  lookup(tenant: string, parent: number, tokenHex: string, ctx: ReadCtx = {}): DirentRec | undefined {
    return this.#dirents.get([tenant, parent, tokenHex], ctx);
  }

  *readdir(tenant: string, parent: number, afterTokenHex: string, limit: number, ctx: ReadCtx = {}) {
    const start: [string, number, string] = [tenant, parent, afterTokenHex];
    for (const { key, value } of this.#dirents.getRange({
      start,
      end: [tenant, parent + 1, ''],
      // One past the page, so the caller can tell there is more; and one more when the range
      // starts at the `after` entry itself, which is skipped (a page after the first used to
      // end the listing at 2048 entries).
      limit: limit + (afterTokenHex ? 2 : 1),
      ...ctx,
    })) {
      if (key[2] === afterTokenHex) continue;
      yield { tokenHex: key[2], entry: value };
    }
  }

  blocks(
    tenant: string,
    ino: number,
    from: number,
    to: number,
    ctx: ReadCtx = {},
  ): Array<{ index: number } & BlockRec> {
    const out: Array<{ index: number } & BlockRec> = [];
    for (const { key, value } of this.#blocks.getRange({
      start: [tenant, ino, from],
      end: [tenant, ino, to + 1],
      ...ctx,
    })) {
      out.push({ index: key[2], ...value });
    }
    return out;
  }

  getXattr(tenant: string, ino: number, tokenHex: string, ctx: ReadCtx = {}): Uint8Array | undefined {
    return this.#xattrs.get([tenant, ino, tokenHex], ctx);
  }

  listXattrs(
    tenant: string,
    ino: number,
    ctx: ReadCtx = {},
  ): Array<{ tokenHex: string; payload: Uint8Array }> {
    const out: Array<{ tokenHex: string; payload: Uint8Array }> = [];
    for (const { key, value } of this.#xattrs.getRange({
      start: [tenant, ino, ''],
      end: [tenant, ino + 1, ''],
      ...ctx,
    })) {
      out.push({ tokenHex: key[2], payload: value });
    }
    return out;
  }

  chunkRefs(tenant: string, chunkHex: string, ctx: ReadCtx = {}): number {
    return this.#chunkrefs.get([tenant, chunkHex], ctx) ?? 0;
  }

  /** Every chunk with at least one reference, for GC and audits. */
  *referencedChunks(): Generator<{ tenant: string; chunk: string; refs: number }> {
    for (const { key, value } of this.#chunkrefs.getRange({}))
      yield { tenant: key[0], chunk: key[1], refs: value };
  }

  countInodes(tenant: string): number {
    return this.#inodes.getKeysCount({ start: [tenant, 0], end: [tenant, Number.MAX_SAFE_INTEGER] });
  }

  /** A snapshot for an MVCC pin; the caller must call `done()` on it. */
  snapshot(): Transaction {
    return this.#env.useReadTransaction();
  }

  // ---- the one writer -------------------------------------------------------------------

  /**
   * Applies committed delta `seq` of `shard`. Must be called in seq order with no gaps; a delta
   * at or below the watermark is skipped (replay after restart is idempotent).
   */
  apply(shard: string, seq: number, h: DeltaHeader__Output): void {
    this.#env.transactionSync(() => {
      const wm = this.watermark(shard);
      if (seq <= wm) return;
      invariant(seq === wm + 1, `view of ${shard} applies seq ${seq} right after ${wm} (I-V2)`);
      this.#applyOp(seq, h);
      this.#meta.putSync(`watermark:${shard}`, seq);
    });
  }

  #applyOp(seq: number, h: DeltaHeader__Output): void {
    const tenant = h.tenant;
    const now = t(h.time, { sec: 0, nsec: 0 });
    switch (h.op) {
      case 'create': {
        const op = h.create!;
        const kind = kindFromWire(op.kind);
        const parent = this.#mustInode(tenant, op.parent, 'create parent');
        const token = op.nameToken.toString('hex');
        invariant(!this.#dirents.get([tenant, op.parent, token]), 'create target entry is free');
        invariant(!this.#inodes.get([tenant, op.ino]), 'created inode number is unused');
        this.#inodes.putSync([tenant, op.ino], {
          kind,
          mode: op.mode & MODE_MASK,
          uid: op.uid,
          gid: op.gid,
          size: kind === 'symlink' ? op.symlinkBytes : 0,
          atime: now,
          mtime: now,
          ctime: now,
          nlink: kind === 'dir' ? 2 : 1,
          version: seq,
          parent: op.parent,
          entries: 0,
          blockSize: parent.blockSize,
          ...(kind === 'symlink' ? { payload: this.#payload } : {}),
        });
        this.#dirents.putSync([tenant, op.parent, token], { ino: op.ino, kind, payload: this.#payload });
        this.#touchDir(tenant, op.parent, parent, seq, now, 1, kind === 'dir' ? 1 : 0);
        this.#meta.putSync(`nextIno:${tenant}`, Math.max(this.nextIno(tenant), op.ino + 1));
        return;
      }
      case 'remove': {
        const op = h.remove!;
        const token = op.nameToken.toString('hex');
        const entry = this.#dirents.get([tenant, op.parent, token]);
        invariant(entry && entry.ino === op.ino, 'removed entry exists and points at the named inode');
        this.#dirents.removeSync([tenant, op.parent, token]);
        const parent = this.#mustInode(tenant, op.parent, 'remove parent');
        this.#touchDir(tenant, op.parent, parent, seq, now, -1, entry.kind === 'dir' ? -1 : 0);
        this.#dropLink(tenant, op.ino, seq, now);
        return;
      }
      case 'rename': {
        const op = h.rename!;
        const srcTok = op.srcToken.toString('hex');
        const dstTok = op.dstToken.toString('hex');
        const entry = this.#dirents.get([tenant, op.srcParent, srcTok]);
        invariant(entry && entry.ino === op.ino, 'renamed entry exists');
        const replaced = this.#dirents.get([tenant, op.dstParent, dstTok]);
        invariant((replaced?.ino ?? 0) === op.replacedIno, 'rename replaces the inode it validated');
        const isDir = entry.kind === 'dir';
        this.#dirents.removeSync([tenant, op.srcParent, srcTok]);
        const src = this.#mustInode(tenant, op.srcParent, 'rename source dir');
        this.#touchDir(tenant, op.srcParent, src, seq, now, -1, isDir ? -1 : 0);
        if (replaced) {
          const dst0 = this.#mustInode(tenant, op.dstParent, 'rename target dir');
          this.#touchDir(tenant, op.dstParent, dst0, seq, now, -1, replaced.kind === 'dir' ? -1 : 0);
          this.#dropLink(tenant, replaced.ino, seq, now);
        }
        this.#dirents.putSync([tenant, op.dstParent, dstTok], {
          ino: op.ino,
          kind: entry.kind,
          payload: this.#payload,
        });
        const dst = this.#mustInode(tenant, op.dstParent, 'rename target dir');
        this.#touchDir(tenant, op.dstParent, dst, seq, now, 1, isDir ? 1 : 0);
        const moved = this.#mustInode(tenant, op.ino, 'renamed inode');
        this.#inodes.putSync([tenant, op.ino], {
          ...moved,
          parent: isDir ? op.dstParent : moved.parent,
          // A symlink's target is sealed with its entry; the rename carries it re-sealed.
          ...(moved.kind === 'symlink' ? { payload: this.#payload } : {}),
          ctime: now,
          version: seq,
        });
        return;
      }
      case 'setattr': {
        const op = h.setattr!;
        const r = this.#mustInode(tenant, op.ino, 'setattr inode');
        this.#inodes.putSync([tenant, op.ino], {
          ...r,
          mode: op.mode !== undefined && op.mode !== null ? op.mode & MODE_MASK : r.mode,
          uid: op.uid ?? r.uid,
          gid: op.gid ?? r.gid,
          atime: t(op.atime, r.atime),
          mtime: t(op.mtime, r.mtime),
          ctime: now,
          version: seq,
        });
        return;
      }
      case 'write': {
        const op = h.write!;
        const r = this.#mustInode(tenant, op.ino, 'write inode');
        invariant(r.kind === 'file', 'writes go to regular files');
        const bs = r.blockSize;
        const nblocks = Math.ceil(op.size / bs);
        // Drop blocks past the new end of file.
        for (const b of this.blocks(tenant, op.ino, nblocks, Number.MAX_SAFE_INTEGER)) {
          this.#blocks.removeSync([tenant, op.ino, b.index]);
          this.#decref(tenant, b.chunk);
        }
        for (const b of op.blocks) {
          invariant(b.index < nblocks, 'written blocks lie inside the new size');
          const old = this.#blocks.get([tenant, op.ino, b.index]);
          if (old) this.#decref(tenant, old.chunk);
          if (b.chunkId.length === 0) {
            this.#blocks.removeSync([tenant, op.ino, b.index]);
          } else {
            const chunk = b.chunkId.toString('hex');
            this.#blocks.putSync([tenant, op.ino, b.index], { chunk, len: b.len });
            this.#chunkrefs.putSync([tenant, chunk], this.chunkRefs(tenant, chunk) + 1);
          }
        }
        this.#inodes.putSync([tenant, op.ino], {
          ...r,
          size: op.size,
          mtime: t(op.mtime, now),
          ctime: now,
          version: seq,
        });
        return;
      }
      case 'link': {
        const op = h.link!;
        const token = op.nameToken.toString('hex');
        invariant(!this.#dirents.get([tenant, op.parent, token]), 'link target entry is free');
        const r = this.#mustInode(tenant, op.ino, 'linked inode');
        invariant(r.kind !== 'dir', 'directories have no hard links');
        this.#dirents.putSync([tenant, op.parent, token], {
          ino: op.ino,
          kind: r.kind,
          payload: this.#payload,
        });
        this.#inodes.putSync([tenant, op.ino], { ...r, nlink: r.nlink + 1, ctime: now, version: seq });
        const parent = this.#mustInode(tenant, op.parent, 'link parent');
        this.#touchDir(tenant, op.parent, parent, seq, now, 1, 0);
        return;
      }
      case 'xattr': {
        const op = h.xattr!;
        const token = op.nameToken.toString('hex');
        const r = this.#mustInode(tenant, op.ino, 'xattr inode');
        const old = this.#xattrs.get([tenant, op.ino, token]);
        let count = r.xattrs ?? 0;
        let bytes = (r.xattrBytes ?? 0) - (old?.length ?? 0);
        if (op.mode === 'XATTR_MODE_REMOVE') {
          invariant(old, 'a removed extended attribute exists');
          this.#xattrs.removeSync([tenant, op.ino, token]);
          count--;
        } else {
          this.#xattrs.putSync([tenant, op.ino, token], this.#payload);
          bytes += this.#payload.length;
          if (!old) count++;
        }
        this.#inodes.putSync([tenant, op.ino], {
          ...r,
          xattrs: count,
          xattrBytes: bytes,
          ctime: now,
          version: seq,
        });
        return;
      }
      default:
        throw new KisekiError('KISEKI_E_CORRUPT', `delta ${seq} has no known operation`);
    }
  }

  /** Sealed payload of the delta being applied (set by applyWithPayload). */
  #payload: Uint8Array = Buffer.alloc(0);

  /** Applies a delta whose envelope carries a sealed payload. */
  applyEnvelope(shard: string, seq: number, h: DeltaHeader__Output, payload: Uint8Array): void {
    this.#payload = Buffer.from(payload);
    try {
      this.apply(shard, seq, h);
    } finally {
      this.#payload = Buffer.alloc(0);
    }
  }

  #mustInode(tenant: string, ino: number, what: string): InodeRec {
    const r = this.#inodes.get([tenant, ino]);
    invariant(r, `${what} ${ino} exists`);
    return r;
  }

  #touchDir(
    tenant: string,
    ino: number,
    r: InodeRec,
    seq: number,
    now: Time,
    dEntries: number,
    dLinks: number,
  ): void {
    invariant(r.kind === 'dir', 'entries live in directories');
    invariant(r.entries + dEntries >= 0, 'directory entry count stays non-negative');
    this.#inodes.putSync([tenant, ino], {
      ...r,
      entries: r.entries + dEntries,
      nlink: r.nlink + dLinks,
      mtime: now,
      ctime: now,
      version: seq,
    });
  }

  #dropLink(tenant: string, ino: number, seq: number, now: Time): void {
    const r = this.#mustInode(tenant, ino, 'unlinked inode');
    const nlink = r.kind === 'dir' ? 0 : r.nlink - 1;
    if (nlink > 0) {
      this.#inodes.putSync([tenant, ino], { ...r, nlink, ctime: now, version: seq });
      return;
    }
    invariant(r.kind !== 'dir' || r.entries === 0, 'only empty directories are removed');
    for (const b of this.blocks(tenant, ino, 0, Number.MAX_SAFE_INTEGER)) {
      this.#blocks.removeSync([tenant, ino, b.index]);
      this.#decref(tenant, b.chunk);
    }
    for (const x of this.listXattrs(tenant, ino)) this.#xattrs.removeSync([tenant, ino, x.tokenHex]);
    this.#inodes.removeSync([tenant, ino]);
  }

  #decref(tenant: string, chunk: string): void {
    const n = this.chunkRefs(tenant, chunk);
    invariant(n > 0, 'chunk refcount never goes below zero (I-C2)');
    if (n === 1) this.#chunkrefs.removeSync([tenant, chunk]);
    else this.#chunkrefs.putSync([tenant, chunk], n - 1);
  }
}
