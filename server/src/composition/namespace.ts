/**
 * The composition context for one namespace shard: validates a tenant's mutation against the
 * current view, fills in what the system assigns (inode numbers, commit time, the inode an
 * entry pointed at), appends it to the shard's log as a delta, and waits until the view has
 * applied it. Mutations of a shard are serialised, so validation always sees every delta
 * committed before it (I-L1).
 */
import {
  type Attr,
  DELTA_PAYLOAD_BYTES_MAX,
  type DeltaHeader,
  DeltaHeaderCodec,
  encodeDeltaEnvelope,
  KisekiError,
  type MutateRequest__Output,
  Mutex,
  parseSealedPayload,
} from '@kiseki/proto';
import type { ShardLog } from '../log/index.ts';
import type { Materializer, ViewStore } from '../view/index.ts';
import { type InodeRec, kindFromWire, ROOT, toAttr } from '../view/index.ts';

export const NAME_TOKEN_BYTES = 32;
export const FILE_BYTES_MAX = 2 ** 50;
export const BLOCKS_PER_WRITE_MAX = 4096;
/** Hard links per inode (ext4's limit); one more is EMLINK. */
export const NLINK_MAX = 65_000;
/** Extended attributes per inode, and their sealed bytes in all (a bound on one inode's
 * ListXattrs answer; Linux caps one value at 64 KiB). */
export const XATTRS_PER_INODE_MAX = 1024;
export const XATTR_BYTES_PER_INODE_MAX = 4 * 1024 * 1024;

/** Tells which of the given chunks are not durable in chunk storage (I-L5). */
export interface ChunkPresence {
  missing(tenant: string, chunkHexes: readonly string[]): Promise<string[]>;
}

export interface MutateResult {
  readonly seq: number;
  readonly attr: Attr;
}

export class NamespaceShard {
  readonly #mutex = new Mutex();

  constructor(
    readonly shard: string,
    readonly tenant: string,
    private readonly log: ShardLog,
    private readonly view: ViewStore,
    private readonly materializer: Materializer,
    private readonly chunks: ChunkPresence,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Runs `fn` with no mutation in flight (GC uses it so a chunk it frees can't be referenced
   * by a write validated at the same time). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.#mutex.run(fn);
  }

  mutate(req: MutateRequest__Output): Promise<MutateResult> {
    return this.#mutex.run(async () => {
      // Everything committed before us is applied: validation sees the latest state.
      await this.materializer.waitFor(this.log.committedSeq());
      const planned = await this.#plan(req);
      if ('attr' in planned) return planned; // no change needed (open of an existing file)
      const ms = this.clock();
      const header: DeltaHeader = {
        version: 1,
        tenant: this.tenant,
        time: { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1_000_000 },
        ...planned.op,
      };
      const envelope = encodeDeltaEnvelope({
        header: DeltaHeaderCodec.encode(header),
        payload: planned.payload,
      });
      const [seq] = await this.log.append([envelope]);
      await this.materializer.waitFor(seq!);
      const ino = planned.ino;
      const rec = this.view.getInode(this.tenant, ino);
      return { seq: seq!, attr: rec ? toAttr(ino, rec) : { ino, nlink: 0 } };
    });
  }

  async #plan(
    req: MutateRequest__Output,
  ): Promise<{ op: Partial<DeltaHeader>; payload: Uint8Array; ino: number } | MutateResult> {
    const tenant = this.tenant;
    switch (req.op) {
      case 'create': {
        const c = req.create!;
        const parent = this.#dir(c.parent);
        this.#token(c.nameToken);
        const kind = kindFromWire(c.kind);
        this.#payload(req.payload, true);
        const existing = this.view.lookup(tenant, c.parent, c.nameToken.toString('hex'));
        if (existing) {
          if (c.exclusive || kind !== 'file' || existing.kind !== 'file') {
            throw new KisekiError('KISEKI_E_EXIST', 'an entry with that name exists');
          }
          return {
            seq: this.view.watermark(this.shard),
            attr: toAttr(existing.ino, this.#inode(existing.ino)),
          };
        }
        void parent;
        const ino = this.view.nextIno(tenant);
        return {
          op: { create: { ...c, ino, mode: c.mode & 0o7777 } },
          payload: req.payload,
          ino,
        };
      }
      case 'remove': {
        const r = req.remove!;
        this.#dir(r.parent);
        this.#token(r.nameToken);
        const e = this.view.lookup(tenant, r.parent, r.nameToken.toString('hex'));
        if (!e) throw new KisekiError('KISEKI_E_NOENT', 'no such entry');
        if (r.dir) {
          if (e.kind !== 'dir')
            throw new KisekiError('KISEKI_E_NOTDIR', 'rmdir of something that is not a directory');
          if (this.#inode(e.ino).entries > 0)
            throw new KisekiError('KISEKI_E_NOTEMPTY', 'directory not empty');
        } else if (e.kind === 'dir') {
          throw new KisekiError('KISEKI_E_ISDIR', 'unlink of a directory: use rmdir');
        }
        return { op: { remove: { ...r, ino: e.ino } }, payload: Buffer.alloc(0), ino: r.parent };
      }
      case 'rename': {
        const r = req.rename!;
        this.#dir(r.srcParent);
        this.#dir(r.dstParent);
        this.#token(r.srcToken);
        this.#token(r.dstToken);
        this.#payload(req.payload, true);
        const src = this.view.lookup(tenant, r.srcParent, r.srcToken.toString('hex'));
        if (!src) throw new KisekiError('KISEKI_E_NOENT', 'rename source does not exist');
        const dst = this.view.lookup(tenant, r.dstParent, r.dstToken.toString('hex'));
        if (dst) {
          if (dst.ino === src.ino) {
            // Same entry (or a hard link to the same inode): POSIX says do nothing.
            return { seq: this.view.watermark(this.shard), attr: toAttr(src.ino, this.#inode(src.ino)) };
          }
          if (r.noreplace) throw new KisekiError('KISEKI_E_EXIST', 'rename target exists');
          if (src.kind === 'dir' && dst.kind !== 'dir')
            throw new KisekiError('KISEKI_E_NOTDIR', 'cannot replace a non-directory with a directory');
          if (src.kind !== 'dir' && dst.kind === 'dir')
            throw new KisekiError('KISEKI_E_ISDIR', 'cannot replace a directory with a non-directory');
          if (dst.kind === 'dir' && this.#inode(dst.ino).entries > 0)
            throw new KisekiError('KISEKI_E_NOTEMPTY', 'rename target directory not empty');
        }
        if (src.kind === 'dir') {
          // A directory can't move into its own subtree.
          for (let p = r.dstParent, hops = 0; ; hops++) {
            if (p === src.ino) throw new KisekiError('KISEKI_E_INVAL', 'cannot move a directory into itself');
            if (p === ROOT || hops > 100_000) break;
            p = this.#inode(p).parent;
          }
        }
        return {
          op: { rename: { ...r, ino: src.ino, replacedIno: dst?.ino ?? 0 } },
          payload: req.payload,
          ino: src.ino,
        };
      }
      case 'setattr': {
        const s = req.setattr!;
        this.#inode(s.ino);
        return { op: { setattr: s }, payload: Buffer.alloc(0), ino: s.ino };
      }
      case 'write': {
        const w = req.write!;
        const rec = this.#inode(w.ino);
        if (rec.kind === 'dir') throw new KisekiError('KISEKI_E_ISDIR', 'write to a directory');
        if (rec.kind !== 'file')
          throw new KisekiError('KISEKI_E_INVAL', 'write to something that is not a regular file');
        if (w.blockSize !== rec.blockSize)
          throw new KisekiError('KISEKI_E_INVAL', `block size is ${rec.blockSize}`);
        if (!Number.isSafeInteger(w.size) || w.size < 0 || w.size > FILE_BYTES_MAX) {
          throw new KisekiError('KISEKI_E_TOOBIG', 'file size out of range');
        }
        if (w.blocks.length > BLOCKS_PER_WRITE_MAX)
          throw new KisekiError('KISEKI_E_TOOBIG', 'too many blocks in one write');
        const nblocks = Math.ceil(w.size / rec.blockSize);
        const ids: string[] = [];
        const seen = new Set<number>();
        for (const b of w.blocks) {
          if (b.index >= nblocks || seen.has(b.index))
            throw new KisekiError('KISEKI_E_INVAL', 'block outside the file or repeated');
          seen.add(b.index);
          if (b.chunkId.length !== 0 && b.chunkId.length !== 32)
            throw new KisekiError('KISEKI_E_INVAL', 'chunk id must be 32 bytes');
          if (b.len > rec.blockSize)
            throw new KisekiError('KISEKI_E_INVAL', 'block longer than the block size');
          if (b.chunkId.length) ids.push(b.chunkId.toString('hex'));
        }
        const missing = ids.length ? await this.chunks.missing(this.tenant, ids) : [];
        if (missing.length) {
          throw new KisekiError(
            'KISEKI_E_INVAL',
            `${missing.length} referenced chunk(s) are not durable yet (I-L5)`,
          );
        }
        return { op: { write: w }, payload: Buffer.alloc(0), ino: w.ino };
      }
      case 'link': {
        const l = req.link!;
        this.#dir(l.parent);
        this.#token(l.nameToken);
        this.#payload(req.payload, true);
        const rec = this.#inode(l.ino);
        if (rec.kind === 'dir')
          throw new KisekiError('KISEKI_E_PERM', 'hard links to directories are not allowed');
        if (rec.kind === 'symlink')
          // A symlink's target is sealed with its one entry; a second entry could not open it.
          throw new KisekiError('KISEKI_E_PERM', 'hard links to symbolic links are not supported');
        if (rec.nlink >= NLINK_MAX) throw new KisekiError('KISEKI_E_MLINK', 'too many links');
        if (this.view.lookup(tenant, l.parent, l.nameToken.toString('hex')))
          throw new KisekiError('KISEKI_E_EXIST', 'an entry with that name exists');
        return { op: { link: l }, payload: req.payload, ino: l.ino };
      }
      case 'xattr': {
        const x = req.xattr!;
        const rec = this.#inode(x.ino);
        this.#token(x.nameToken);
        const remove = x.mode === 'XATTR_MODE_REMOVE';
        this.#payload(req.payload, !remove);
        if (remove && req.payload.length > 0)
          throw new KisekiError('KISEKI_E_INVAL', 'removing an extended attribute carries no payload');
        const old = this.view.getXattr(tenant, x.ino, x.nameToken.toString('hex'));
        if (!old && (remove || x.mode === 'XATTR_MODE_REPLACE'))
          throw new KisekiError('KISEKI_E_NODATA', 'no such extended attribute');
        if (old && x.mode === 'XATTR_MODE_CREATE')
          throw new KisekiError('KISEKI_E_EXIST', 'the extended attribute exists');
        if (!remove) {
          if (!old && (rec.xattrs ?? 0) >= XATTRS_PER_INODE_MAX)
            throw new KisekiError('KISEKI_E_NOSPC', 'too many extended attributes on this inode');
          if ((rec.xattrBytes ?? 0) - (old?.length ?? 0) + req.payload.length > XATTR_BYTES_PER_INODE_MAX)
            throw new KisekiError('KISEKI_E_NOSPC', 'extended attributes of this inode are too large');
        }
        return { op: { xattr: x }, payload: remove ? Buffer.alloc(0) : req.payload, ino: x.ino };
      }
      default:
        throw new KisekiError('KISEKI_E_INVAL', 'mutation names no operation');
    }
  }

  #inode(ino: number): InodeRec {
    const r = this.view.getInode(this.tenant, ino);
    if (!r) throw new KisekiError('KISEKI_E_NOENT', `no inode ${ino}`);
    return r;
  }

  #dir(ino: number): InodeRec {
    const r = this.#inode(ino);
    if (r.kind !== 'dir') throw new KisekiError('KISEKI_E_NOTDIR', `inode ${ino} is not a directory`);
    return r;
  }

  #token(t: Uint8Array): void {
    if (t.length !== NAME_TOKEN_BYTES) throw new KisekiError('KISEKI_E_INVAL', 'name token must be 32 bytes');
  }

  #payload(p: Uint8Array, required: boolean): void {
    if (p.length === 0) {
      if (required) throw new KisekiError('KISEKI_E_INVAL', 'a sealed entry payload is required');
      return;
    }
    if (p.length > DELTA_PAYLOAD_BYTES_MAX) throw new KisekiError('KISEKI_E_TOOBIG', 'payload too large');
    parseSealedPayload(p);
  }
}
