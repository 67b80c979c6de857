/**
 * ChunkStore: opaque chunk envelopes on one DeviceBackend, indexed in an lmdb environment.
 *
 * On disk:
 * - the device holds the envelope bytes in block-aligned extents (I-C7), zero padded;
 * - lmdb `index` maps (tenant, chunk id) to {offset, length, crc32c, createdAtMs, lastTouchedMs}
 *   (record.ts); lmdb `bitmap` holds the allocation bitmap page by page (I-C8: ground truth);
 *   lmdb `meta` binds the index to its device (uuid, geometry).
 *
 * Write ordering (put):
 *   1. reserve an extent in the in-memory free list (no bits change, nothing persistent);
 *   2. write the padded envelope into the extent;
 *   3. fdatasync the device (shared by every put in the batch: group commit);
 *   4. one lmdb transaction sets the extent's bitmap bits and inserts the index record
 *      (shared by the batch); lmdb is opened with overlappingSync off, so the transaction's
 *      promise resolves only after lmdb's own fsync;
 *   5. resolve the put.
 * Steps 3 and 4 are pipelined across batches: batch N+1's fdatasync runs during batch N's lmdb
 * transaction (runCommitter), never a batch's transaction before its own sync.
 * Crash safety: nothing persistent points at an extent until step 4 commits, and step 4 is
 * atomic. A crash before it leaves free blocks holding garbage (no index entry, no bit: not
 * leaked, not visible); a crash after it leaves a complete chunk whose bytes were made durable
 * in step 3. So no crash point leaves visible corruption, a leaked extent, or a lost
 * acknowledged put. The start-up reconciliation (reconcile.ts) still checks bitmap against
 * index and frees bits no entry covers, reporting the count; it should always report zero.
 *
 * Delete: one lmdb transaction removes the index record and clears the bits. The extent
 * returns to the free list only after that commit and after every get already reading it has
 * finished, so a crash mid-delete can't have let a new put overwrite a still-indexed chunk, and
 * a concurrent get never reads another chunk's bytes.
 *
 * Only the committer (one batch at a time) changes bitmap bits, so the dirty pages a batch
 * writes contain exactly the committed state plus that batch. Any failure inside the commit
 * pipeline (device fdatasync, lmdb) stops the store: after a failed fsync the page cache can't
 * be trusted (Linux may have dropped the dirty pages), so we fail every pending and future
 * operation with KISEKI_E_UNAVAILABLE and recover by reopening, as after a crash.
 */
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import { crc32c } from '@kiseki/native';
import {
  CHUNK_ENVELOPE_BYTES_MAX,
  CHUNK_HEADER_BYTES,
  type ChunkIdHex,
  invariant,
  isChunkIdHex,
  isTenantId,
  KisekiError,
  TAG_BYTES,
  type TenantId,
} from '@kiseki/proto';
import { type Database, open as openLmdb, type RootDatabase } from 'lmdb';
import { BlockBitmap, type DeviceBackend, type Extent, FileDevice } from '../block/index.ts';
import { ByteBudget } from './byte-budget.ts';
import { KeyedMutex } from './keyed-mutex.ts';
import { reconcileBitmap } from './reconcile.ts';
import {
  decodeIndexKey,
  decodeIndexRecord,
  encodeIndexRecord,
  type IndexRecord,
  indexKey,
  tenantKeyRange,
} from './record.ts';

/**
 * Envelope size limits, from the chunk envelope format in @kiseki/proto: header + tag (80 B)
 * around 0 .. 16 MiB of ciphertext. The store checks only the size; framing is opaque here.
 */
export const ENVELOPE_BYTES_MIN = CHUNK_HEADER_BYTES + TAG_BYTES;
export const ENVELOPE_BYTES_MAX = CHUNK_ENVELOPE_BYTES_MAX;

export const INFLIGHT_BYTES_MAX_DEFAULT = 256 * 1024 * 1024;
export const CRITICAL_RATIO_DEFAULT = 0.85;
export const COMMIT_BATCH_OPS_MAX_DEFAULT = 1024;
export const TOUCH_PENDING_MAX_DEFAULT = 65_536;
export const TOUCH_FLUSH_INTERVAL_MS_DEFAULT = 30_000;

const STORE_FORMAT = 1;
const LOCK_FILE = 'kiseki-chunk.lock';

/** Where a fault hook can inject a crash, in write order. */
export type FaultPoint =
  | 'put:reserved'
  | 'put:written'
  | 'commit:synced'
  | 'commit:before-txn'
  | 'commit:after-txn';

export interface ChunkStoreOptions {
  /** Directory of the lmdb environment (created if missing). */
  dir: string;
  /** Device file; created on first use with `deviceSizeBytes`, reopened afterwards. */
  devicePath?: string;
  /** Size of the device file to create; when reopening, must match the device if given. */
  deviceSizeBytes?: number;
  /** Block size for a new device. Default 4096. */
  blockSizeBytes?: number;
  /** An already open device instead of `devicePath` (tests, simulator); the store closes it. */
  device?: DeviceBackend;
  /** I-C5: reject puts that would take usage past this fraction. Default 0.85 (SSD). */
  criticalRatio?: number;
  /** Bytes of puts between reservation and commit; beyond, puts wait. Default 256 MiB. */
  inflightBytesMax?: number;
  /** Operations per lmdb transaction. Default 1024. */
  commitBatchOpsMax?: number;
  /** Touches held in memory before a flush is forced. Default 65536. */
  touchPendingMax?: number;
  /** Touches are flushed at least this often. Default 30 s. */
  touchFlushIntervalMs?: number;
  /** Clock. Default Date.now. */
  now?: () => number;
  /**
   * Test hook, awaited at each FaultPoint. If it throws, the store behaves as if the process
   * died there: it stops, fails everything pending and writes nothing more (not even on close).
   */
  faultHook?: (point: FaultPoint) => void | Promise<void>;
}

export interface ChunkInfo {
  readonly tenant: TenantId;
  readonly chunkId: ChunkIdHex;
  readonly lengthBytes: number;
  readonly createdAtMs: number;
  /** Latest of: creation, last touch, and (after an unclean shutdown) the reopen time. */
  readonly lastTouchedMs: number;
}

export interface ChunkStoreStats {
  readonly capacityBytes: number;
  readonly usedBytes: number;
  readonly freeBytes: number;
  /** Reserved by puts in flight or by deletes not yet reusable. */
  readonly reservedBytes: number;
  readonly chunks: number;
}

export interface OpenReport {
  readonly createdDevice: boolean;
  /** The previous process did not close the store (crash or kill). */
  readonly uncleanShutdown: boolean;
  /** Blocks marked used that no index entry covered, freed at open (expected 0). */
  readonly leakedBlocksFreed: number;
  /** Blocks covered by an index entry but marked free, re-marked at open (expected 0). */
  readonly unmarkedBlocksRepaired: number;
  readonly chunks: number;
}

interface StoreMeta {
  format: number;
  deviceUuid: string;
  blockSizeBytes: number;
  dataStartBytes: number;
  dataBlocks: number;
  bitmapPageBytes: number;
}

interface Touch {
  readonly keyBytes: Buffer;
  readonly ms: number;
}

type CommitOp =
  | { kind: 'put'; keyBytes: Buffer; extent: Extent; record: IndexRecord }
  | { kind: 'delete'; keyBytes: Buffer; extent: Extent }
  | { kind: 'touch'; touches: Map<string, Touch> };

interface Pending {
  readonly op: CommitOp;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

const heldDirs = new Set<string>();

export class ChunkStore {
  readonly openReport: OpenReport;
  /** Commit pipeline counters (monotonic), for metrics and benchmarks. */
  readonly counters = { deviceSyncs: 0, commitTxns: 0, committedOps: 0 };
  private readonly bs: number;
  private readonly dataStart: number;
  private readonly budget: ByteBudget;
  private readonly locks = new KeyedMutex();
  private readonly now: () => number;
  private readonly criticalBlocks: number;
  private readonly batchOpsMax: number;
  private readonly touchPendingMax: number;
  private readonly faultHook: ChunkStoreOptions['faultHook'];
  private readonly touchTimer: NodeJS.Timeout;
  private readonly touchFloorMs: number;

  private pending: Pending[] = [];
  private committing = false;
  private touches = new Map<string, Touch>();
  /** Touch maps handed to the committer and not yet committed. */
  private readonly flushingTouches = new Map<Map<string, Touch>, Promise<void>>();
  private chunkCount: number;
  private readonly readers = new Map<number, number>();
  private readonly releaseAfterRead = new Map<number, Extent>();
  private active = 0;
  private idle: (() => void)[] = [];
  private failure: unknown;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly device: DeviceBackend,
    private readonly env: RootDatabase,
    private readonly index: Database<Buffer, Buffer>,
    private readonly bitmapDb: Database<Buffer, number>,
    private readonly metaDb: Database<unknown, string>,
    private readonly bitmap: BlockBitmap,
    private readonly lockPath: string,
    opts: ChunkStoreOptions,
    report: OpenReport,
  ) {
    this.bs = device.blockSizeBytes;
    this.dataStart = device.dataStartBytes;
    this.now = opts.now ?? Date.now;
    this.budget = new ByteBudget(opts.inflightBytesMax ?? INFLIGHT_BYTES_MAX_DEFAULT);
    this.criticalBlocks = Math.floor(bitmap.blocks * (opts.criticalRatio ?? CRITICAL_RATIO_DEFAULT));
    this.batchOpsMax = opts.commitBatchOpsMax ?? COMMIT_BATCH_OPS_MAX_DEFAULT;
    this.touchPendingMax = opts.touchPendingMax ?? TOUCH_PENDING_MAX_DEFAULT;
    this.faultHook = opts.faultHook;
    this.chunkCount = report.chunks;
    this.openReport = report;
    this.touchFloorMs = report.uncleanShutdown ? this.now() : 0;
    this.touchTimer = setInterval(
      () => void this.flushTouches().catch(() => {}),
      opts.touchFlushIntervalMs ?? TOUCH_FLUSH_INTERVAL_MS_DEFAULT,
    );
    this.touchTimer.unref();
  }

  /**
   * Opens the store in `opts.dir`, creating the device on first use. Runs the start-up
   * reconciliation (see `openReport`). Refuses a device that belongs to another index
   * (KISEKI_E_INVAL) and a directory another open store holds (KISEKI_E_BUSY).
   */
  static async open(opts: ChunkStoreOptions): Promise<ChunkStore> {
    validateOptions(opts);
    await mkdir(opts.dir, { recursive: true });
    const lockPath = await acquireDirLock(opts.dir);
    let device: DeviceBackend | undefined;
    let env: RootDatabase | undefined;
    try {
      let createdDevice = false;
      if (opts.device !== undefined) {
        device = opts.device;
      } else {
        const path = opts.devicePath!;
        if (await exists(path)) {
          device = await FileDevice.open(path);
          if (opts.deviceSizeBytes !== undefined && opts.deviceSizeBytes !== device.sizeBytes) {
            throw new KisekiError(
              'KISEKI_E_INVAL',
              `device ${path} is ${device.sizeBytes} bytes but ${opts.deviceSizeBytes} were configured; growing a device is not supported`,
            );
          }
        } else {
          if (opts.deviceSizeBytes === undefined) {
            throw new KisekiError(
              'KISEKI_E_INVAL',
              `device ${path} does not exist; give deviceSizeBytes to create it`,
            );
          }
          device = await FileDevice.create(path, opts.deviceSizeBytes, opts.blockSizeBytes ?? 4096);
          createdDevice = true;
        }
      }
      invariant(
        device.dataStartBytes % device.blockSizeBytes === 0 && device.sizeBytes % device.blockSizeBytes === 0,
        'device geometry is block aligned',
      );
      // overlappingSync off: a transaction's promise resolves only once lmdb has fsync'ed it.
      env = openLmdb({ path: opts.dir, maxDbs: 4, overlappingSync: false });
      const index = env.openDB<Buffer, Buffer>({ name: 'index', encoding: 'binary', keyEncoding: 'binary' });
      const bitmapDb = env.openDB<Buffer, number>({
        name: 'bitmap',
        encoding: 'binary',
        keyEncoding: 'uint32',
      });
      const metaDb = env.openDB<unknown, string>({ name: 'meta', encoding: 'json' });
      const dataBlocks = (device.sizeBytes - device.dataStartBytes) / device.blockSizeBytes;
      const want: StoreMeta = {
        format: STORE_FORMAT,
        deviceUuid: device.deviceUuid,
        blockSizeBytes: device.blockSizeBytes,
        dataStartBytes: device.dataStartBytes,
        dataBlocks,
        bitmapPageBytes: 4096,
      };
      const meta = metaDb.get('store') as StoreMeta | undefined;
      const fresh = meta === undefined;
      if (meta === undefined) {
        invariant(index.getKeysCount() === 0, 'an index without meta');
        await metaDb.put('store', want);
      } else {
        checkMeta(meta, want, opts.dir);
      }
      const uncleanShutdown = !fresh && metaDb.get('clean') !== true;
      if (metaDb.get('clean') !== undefined) await metaDb.remove('clean');

      // I-C8: the bitmap pages are ground truth; the free list is derived from them here.
      const bitmap = BlockBitmap.fromPages(dataBlocks, (p) => bitmapDb.getBinary(p), {
        pageBytes: want.bitmapPageBytes,
      });
      const dev = device;
      const rec = reconcileBitmap(bitmap, iterateExtents(index, dev));
      for (const e of rec.leaked) bitmap.free(e);
      for (const e of rec.unmarked) bitmap.markUsed(e);
      const pages = bitmap.takeDirtyPages();
      if (pages.length > 0) {
        await env.transaction(() => {
          for (const p of pages) bitmapDb.put(p.page, Buffer.from(p.bytes));
        });
      }
      return new ChunkStore(device, env, index, bitmapDb, metaDb, bitmap, lockPath, opts, {
        createdDevice,
        uncleanShutdown,
        leakedBlocksFreed: rec.leakedBlocks,
        unmarkedBlocksRepaired: rec.unmarkedBlocks,
        chunks: rec.chunks,
      });
    } catch (err) {
      await env?.close().catch(() => {});
      await device?.close().catch(() => {});
      await releaseDirLock(lockPath);
      throw err;
    }
  }

  /**
   * Stores `envelope` under (tenant, chunkId). Idempotent: an existing chunk is kept as is
   * (and touched), giving {created: false}. Resolves {created: true} only once the bytes and
   * the index record are durable. Waits (FIFO) while `inflightBytesMax` is in use; `signal`
   * aborts that wait. Errors: KISEKI_E_INVAL (ids, size), KISEKI_E_CAPACITY_CRITICAL (I-C5:
   * would pass criticalRatio), KISEKI_E_NOSPC (no contiguous extent large enough),
   * KISEKI_E_UNAVAILABLE (store stopped). A failed put changes nothing visible.
   * The store writes straight from `envelope` (no copy): don't modify it until this resolves.
   */
  put(
    tenant: TenantId,
    chunkId: ChunkIdHex,
    envelope: Uint8Array,
    opts: { signal?: AbortSignal } = {},
  ): Promise<{ created: boolean }> {
    return this.track(async () => {
      checkIds(tenant, chunkId);
      if (
        !(envelope instanceof Uint8Array) ||
        envelope.length < ENVELOPE_BYTES_MIN ||
        envelope.length > ENVELOPE_BYTES_MAX
      ) {
        throw new KisekiError(
          'KISEKI_E_INVAL',
          `chunk envelope must be ${ENVELOPE_BYTES_MIN}..${ENVELOPE_BYTES_MAX} bytes, got ${(envelope as Uint8Array | undefined)?.length}`,
        );
      }
      const key = `${tenant}/${chunkId}`;
      const keyBytes = indexKey(tenant, chunkId);
      return this.locks.run(key, async () => {
        this.checkRunning();
        if (this.index.doesExist(keyBytes)) {
          this.touch(key, keyBytes);
          return { created: false };
        }
        const blocks = Math.ceil(envelope.length / this.bs);
        const paddedBytes = blocks * this.bs;
        await this.budget.acquire(paddedBytes, opts.signal);
        try {
          const extent = this.reserve(blocks, envelope.length);
          let handedOff = false;
          try {
            await this.fault('put:reserved');
            const offset = this.dataStart + extent.start * this.bs;
            const record: IndexRecord = {
              offsetBytes: offset,
              lengthBytes: envelope.length,
              crc32c: crc32c(envelope),
              createdAtMs: this.now(),
              lastTouchedMs: 0,
            };
            await this.device.writev(offset, padPieces(envelope, this.bs));
            await this.fault('put:written');
            handedOff = true;
            await this.enqueue({ kind: 'put', keyBytes, extent, record });
          } finally {
            // Before hand-off the reservation is ours to return; after it, the committer owns it.
            if (!handedOff && this.failure === undefined) this.bitmap.release(extent);
          }
        } finally {
          this.budget.release(paddedBytes);
        }
        this.chunkCount++;
        return { created: true };
      });
    });
  }

  /**
   * Returns the exact envelope bytes. The CRC-32C is verified on every read: a mismatch is
   * KISEKI_E_CORRUPT and the bytes are never returned. Missing → KISEKI_E_NOENT.
   * `opts.alloc` supplies the read buffer (a pooled one) for the padded extent's bytes.
   */
  get(
    tenant: TenantId,
    chunkId: ChunkIdHex,
    opts: { alloc?: (bytes: number) => Buffer } = {},
  ): Promise<Buffer> {
    return this.track(async () => {
      checkIds(tenant, chunkId);
      this.checkRunning();
      const keyBytes = indexKey(tenant, chunkId);
      const rec = this.lookup(keyBytes, tenant, chunkId);
      if (rec === undefined) throw noent(tenant, chunkId);
      const extent = this.extentOf(rec);
      this.pin(extent);
      let buf: Buffer;
      try {
        const bytes = extent.count * this.bs;
        buf = await this.device.read(rec.offsetBytes, bytes, opts.alloc?.(bytes));
      } finally {
        this.unpin(extent);
      }
      const body = buf.subarray(0, rec.lengthBytes);
      const actual = crc32c(body);
      if (actual !== rec.crc32c) {
        throw new KisekiError(
          'KISEKI_E_CORRUPT',
          `chunk ${tenant}/${chunkId} failed its checksum at device offset ${rec.offsetBytes}; the stored bytes are damaged, read another copy`,
        );
      }
      return body;
    });
  }

  /**
   * True when the chunk is stored (durably). A true answer also touches it: GC's grace period
   * then protects a chunk a client is about to reference. Touches live in memory and are
   * flushed to the index lazily (every touchFlushIntervalMs, when touchPendingMax are held, and
   * at close); after an unclean shutdown every chunk counts as touched at reopen instead.
   */
  has(tenant: TenantId, chunkId: ChunkIdHex): boolean {
    checkIds(tenant, chunkId);
    this.checkRunning();
    const keyBytes = indexKey(tenant, chunkId);
    if (!this.index.doesExist(keyBytes)) return false;
    this.touch(`${tenant}/${chunkId}`, keyBytes);
    return true;
  }

  /** The chunk's metadata without touching it, or undefined. */
  stat(tenant: TenantId, chunkId: ChunkIdHex): ChunkInfo | undefined {
    checkIds(tenant, chunkId);
    this.checkRunning();
    const rec = this.lookup(indexKey(tenant, chunkId), tenant, chunkId);
    return rec === undefined ? undefined : this.info(tenant, chunkId, rec);
  }

  /**
   * Removes the chunk: one lmdb transaction deletes the index record and clears its bits; the
   * extent becomes reusable after that commit and after reads in progress finish.
   * {deleted: false} when it was not there. (GC decides *whether*; I-C2/I-C2b live there.)
   */
  delete(tenant: TenantId, chunkId: ChunkIdHex): Promise<{ deleted: boolean }> {
    return this.track(async () => {
      checkIds(tenant, chunkId);
      const key = `${tenant}/${chunkId}`;
      const keyBytes = indexKey(tenant, chunkId);
      return this.locks.run(key, async () => {
        this.checkRunning();
        const rec = this.lookup(keyBytes, tenant, chunkId);
        if (rec === undefined) return { deleted: false };
        await this.enqueue({ kind: 'delete', keyBytes, extent: this.extentOf(rec) });
        this.touches.delete(key);
        this.chunkCount--;
        return { deleted: true };
      });
    });
  }

  /**
   * Iterates stored chunks (one tenant's, or all) in key order from an lmdb snapshot, with
   * the timestamps GC needs. Lazy; don't hold it open for long.
   */
  *list(tenant?: TenantId): Generator<ChunkInfo> {
    this.checkRunning();
    if (tenant !== undefined && !isTenantId(tenant))
      throw new KisekiError('KISEKI_E_INVAL', `invalid tenant '${tenant}'`);
    const range = tenant === undefined ? {} : tenantKeyRange(tenant);
    for (const { key, value } of this.index.getRange({ ...range, snapshot: true })) {
      const id = decodeIndexKey(key);
      yield this.info(id.tenant, id.chunkId, decodeIndexRecord(value, `${id.tenant}/${id.chunkId}`));
    }
  }

  stats(): ChunkStoreStats {
    const capacityBytes = this.bitmap.blocks * this.bs;
    const usedBytes = this.bitmap.usedBlocks * this.bs;
    return {
      capacityBytes,
      usedBytes,
      freeBytes: capacityBytes - usedBytes,
      reservedBytes: this.bitmap.reservedBlocks * this.bs,
      chunks: this.chunkCount,
    };
  }

  /**
   * Full check (O(device blocks + chunks)) that the in-memory bitmap agrees with the index:
   * every indexed extent is used, no two overlap, no used block is unindexed, and the free
   * list is consistent. Throws AssertionError otherwise. Meaningful when no operation is in
   * flight (tests, fsck).
   */
  checkConsistency(): { chunks: number; usedBlocks: number } {
    this.bitmap.checkInvariants();
    const rec = reconcileBitmap(this.bitmap, iterateExtents(this.index, this.device));
    invariant(rec.leakedBlocks === 0, `${rec.leakedBlocks} used blocks have no index entry`);
    invariant(rec.unmarkedBlocks === 0, `${rec.unmarkedBlocks} indexed blocks are marked free`);
    invariant(
      rec.chunks === this.chunkCount,
      `chunk count ${this.chunkCount} matches the index ${rec.chunks}`,
    );
    return { chunks: rec.chunks, usedBlocks: this.bitmap.usedBlocks };
  }

  /** Writes pending touches to the index; resolves when they and any flush already started are committed. */
  async flushTouches(): Promise<void> {
    if (this.touches.size > 0 && this.failure === undefined && this.closing === undefined) {
      const touches = this.touches;
      this.touches = new Map();
      const done = this.enqueue({ kind: 'touch', touches }).finally(() =>
        this.flushingTouches.delete(touches),
      );
      this.flushingTouches.set(touches, done);
    }
    await Promise.all(this.flushingTouches.values());
  }

  /**
   * Waits for operations in flight, flushes touches, records a clean shutdown and releases
   * the device, the index and the directory lock. After a failure (or an injected crash) it
   * writes nothing: the next open sees exactly what a crash would have left.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.touchTimer);
      await this.whenIdle();
      if (this.failure === undefined) {
        try {
          if (this.touches.size > 0) await this.enqueue({ kind: 'touch', touches: this.touches });
          await this.metaDb.put('clean', true);
        } catch {
          // The next open will see an unclean shutdown; nothing is lost.
        }
      }
      await this.env.close();
      await this.device.close();
      await releaseDirLock(this.lockPath);
    })();
    return this.closing;
  }

  // ---- internals ----------------------------------------------------------------------------

  private async fault(point: FaultPoint): Promise<void> {
    if (this.faultHook === undefined) return;
    try {
      await this.faultHook(point);
    } catch (err) {
      this.stop(err);
      throw err;
    }
  }

  /**
   * I-C5: Full (the blocks don't fit at all) → NOSPC; past the critical ratio → CAPACITY_CRITICAL;
   * then the extent search, where fragmentation can still give NOSPC. None of these touch
   * existing chunks.
   */
  private reserve(blocks: number, lengthBytes: number): Extent {
    const bm = this.bitmap;
    const after = bm.usedBlocks + bm.reservedBlocks + blocks;
    if (after > bm.blocks) {
      throw new KisekiError(
        'KISEKI_E_NOSPC',
        `device is full: a ${lengthBytes}-byte chunk needs ${blocks} blocks, ${bm.freeBlocks} are free; free space or add devices`,
      );
    }
    if (after > this.criticalBlocks) {
      throw new KisekiError(
        'KISEKI_E_CAPACITY_CRITICAL',
        `device is at its critical threshold (${this.criticalBlocks * this.bs} of ${bm.blocks * this.bs} bytes usable): a ${lengthBytes}-byte chunk was refused; free space or add devices`,
      );
    }
    const e = bm.reserve(blocks);
    if (e === undefined) {
      throw new KisekiError(
        'KISEKI_E_NOSPC',
        `no free extent of ${blocks} blocks for a ${lengthBytes}-byte chunk (largest free: ${bm.largestFreeExtent()} blocks); the device is fragmented`,
      );
    }
    return e;
  }

  private enqueue(op: CommitOp): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.failure !== undefined) {
        reject(this.stoppedError());
        return;
      }
      this.pending.push({ op, resolve, reject });
      if (!this.committing) {
        this.committing = true;
        void this.runCommitter();
      }
    });
  }

  /**
   * Group commit in two pipelined stages: the device fdatasync of batch N+1 runs while batch N's
   * lmdb transaction commits. Each put's bytes are still durable before its own index record
   * commits (its batch's sync precedes its batch's transaction), transactions commit in batch
   * order, and only one sync and one transaction run at a time. Overlapping them roughly halves
   * the committer's time per batch (fdatasync ~2 ms and lmdb's own fsync ~2.6 ms, measured).
   */
  private async runCommitter(): Promise<void> {
    let txns: Promise<void> = Promise.resolve();
    try {
      for (;;) {
        if (this.pending.length === 0 || this.failure !== undefined) {
          await txns; // puts that arrive meanwhile join the next round
          if (this.pending.length === 0 || this.failure !== undefined) break;
          continue;
        }
        const batch = this.pending.splice(0, this.batchOpsMax);
        const synced = await this.syncBatch(batch);
        const previous = txns;
        txns = (async () => {
          await previous;
          if (synced) await this.commitBatch(batch);
        })();
      }
    } finally {
      this.committing = false;
      this.notifyIdle();
    }
  }

  /** Stage 1: one fdatasync for every put of the batch. False (batch failed) after a failure. */
  private async syncBatch(batch: Pending[]): Promise<boolean> {
    try {
      if (batch.some((p) => p.op.kind === 'put')) {
        await this.device.sync();
        this.counters.deviceSyncs++;
        await this.fault('commit:synced');
      }
      return true;
    } catch (err) {
      this.stop(err);
      const out = this.stoppedError();
      for (const p of batch) p.reject(out);
      return false;
    }
  }

  /** Stage 2: one lmdb transaction for the whole (synced) batch. */
  private async commitBatch(batch: Pending[]): Promise<void> {
    try {
      // A later batch's sync failed meanwhile: the store stopped, write nothing more.
      if (this.failure !== undefined) throw this.failure;
      // Everything that can throw (assertions, encoding) happens before the transaction.
      const encoded: (Buffer | undefined)[] = [];
      for (const { op } of batch) {
        if (op.kind === 'put') this.bitmap.commitReserved(op.extent);
        else if (op.kind === 'delete') this.bitmap.retire(op.extent);
        encoded.push(op.kind === 'put' ? encodeIndexRecord(op.record) : undefined);
      }
      const pages = this.bitmap.takeDirtyPages();
      await this.fault('commit:before-txn');
      const index = this.index;
      await this.env.transaction(() => {
        for (const [i, { op }] of batch.entries()) {
          if (op.kind === 'put') {
            index.put(op.keyBytes, encoded[i]!);
          } else if (op.kind === 'delete') {
            index.remove(op.keyBytes);
          } else {
            for (const t of op.touches.values()) {
              const raw = index.get(t.keyBytes);
              if (raw === undefined) continue; // deleted since
              // Nothing in this callback may throw: lmdb-js commits an async transaction's
              // earlier writes even when its callback throws. A damaged record keeps its damage
              // (get reports it) rather than failing the batch.
              const rec = tryDecode(raw);
              if (rec !== undefined && t.ms > rec.lastTouchedMs) {
                index.put(t.keyBytes, encodeIndexRecord({ ...rec, lastTouchedMs: t.ms }));
              }
            }
          }
        }
        for (const p of pages) this.bitmapDb.put(p.page, Buffer.from(p.bytes));
      });
      this.counters.commitTxns++;
      this.counters.committedOps += batch.length;
      await this.fault('commit:after-txn');
    } catch (err) {
      this.stop(err);
      const out = this.stoppedError();
      for (const p of batch) p.reject(out);
      return;
    }
    for (const { op } of batch) if (op.kind === 'delete') this.releaseWhenUnread(op.extent);
    for (const p of batch) p.resolve();
  }

  /** Stops the store after a failure: everything pending and later fails; nothing more is written. */
  private stop(err: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = err ?? new Error('unknown failure');
    clearInterval(this.touchTimer);
    const out = this.stoppedError();
    this.budget.failAll(out);
    for (const p of this.pending.splice(0)) p.reject(out);
  }

  private stoppedError(): KisekiError {
    return new KisekiError(
      'KISEKI_E_UNAVAILABLE',
      'chunk store stopped after a failed write or sync; reopen it to recover (acknowledged chunks are safe)',
      { cause: this.failure },
    );
  }

  private checkRunning(): void {
    if (this.failure !== undefined) throw this.stoppedError();
    if (this.closing !== undefined) throw new KisekiError('KISEKI_E_UNAVAILABLE', 'chunk store is closed');
  }

  private async track<T>(fn: () => Promise<T>): Promise<T> {
    this.checkRunning();
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.notifyIdle();
    }
  }

  private notifyIdle(): void {
    if (this.active === 0 && !this.committing) for (const w of this.idle.splice(0)) w();
  }

  private whenIdle(): Promise<void> {
    if (this.active === 0 && !this.committing) return Promise.resolve();
    return new Promise<void>((resolve) => this.idle.push(resolve));
  }

  private touch(key: string, keyBytes: Buffer): void {
    this.touches.set(key, { keyBytes, ms: this.now() });
    if (this.touches.size >= this.touchPendingMax) void this.flushTouches().catch(() => {});
  }

  private lookup(keyBytes: Buffer, tenant: TenantId, chunkId: ChunkIdHex): IndexRecord | undefined {
    const raw = this.index.get(keyBytes);
    return raw === undefined ? undefined : decodeIndexRecord(raw, `${tenant}/${chunkId}`);
  }

  private info(tenant: TenantId, chunkId: ChunkIdHex, rec: IndexRecord): ChunkInfo {
    const key = `${tenant}/${chunkId}`;
    let lastTouchedMs = Math.max(
      rec.createdAtMs,
      rec.lastTouchedMs,
      this.touches.get(key)?.ms ?? 0,
      this.touchFloorMs,
    );
    for (const m of this.flushingTouches.keys()) lastTouchedMs = Math.max(lastTouchedMs, m.get(key)?.ms ?? 0);
    return { tenant, chunkId, lengthBytes: rec.lengthBytes, createdAtMs: rec.createdAtMs, lastTouchedMs };
  }

  private extentOf(rec: IndexRecord): Extent {
    return extentOfRecord(rec, this.device);
  }

  private pin(e: Extent): void {
    this.readers.set(e.start, (this.readers.get(e.start) ?? 0) + 1);
  }

  private unpin(e: Extent): void {
    const n = this.readers.get(e.start)! - 1;
    if (n > 0) {
      this.readers.set(e.start, n);
      return;
    }
    this.readers.delete(e.start);
    const waiting = this.releaseAfterRead.get(e.start);
    if (waiting !== undefined) {
      this.releaseAfterRead.delete(e.start);
      if (this.failure === undefined) this.bitmap.release(waiting);
    }
  }

  private releaseWhenUnread(e: Extent): void {
    if (this.readers.has(e.start)) this.releaseAfterRead.set(e.start, e);
    else this.bitmap.release(e);
  }
}

function extentOfRecord(rec: IndexRecord, dev: DeviceBackend): Extent {
  const bs = dev.blockSizeBytes;
  const rel = rec.offsetBytes - dev.dataStartBytes;
  invariant(
    rel >= 0 && rel % bs === 0,
    `I-C7: indexed offset ${rec.offsetBytes} is block aligned in the data area`,
  );
  const e = { start: rel / bs, count: Math.ceil(rec.lengthBytes / bs) };
  invariant(
    rec.offsetBytes + e.count * bs <= dev.sizeBytes,
    `indexed extent at ${rec.offsetBytes} inside the device`,
  );
  return e;
}

function* iterateExtents(index: Database<Buffer, Buffer>, dev: DeviceBackend) {
  for (const { key, value } of index.getRange({ snapshot: true })) {
    const id = decodeIndexKey(key);
    const what = `${id.tenant}/${id.chunkId}`;
    yield { extent: extentOfRecord(decodeIndexRecord(value, what), dev), what };
  }
}

/** The envelope followed by zero padding to whole blocks, without copying the body. */
function padPieces(envelope: Uint8Array, blockSizeBytes: number): Uint8Array[] {
  const tailBytes = envelope.length % blockSizeBytes;
  if (tailBytes === 0) return [envelope];
  const alignedBytes = envelope.length - tailBytes;
  const tail = Buffer.alloc(blockSizeBytes);
  tail.set(envelope.subarray(alignedBytes), 0);
  return alignedBytes > 0 ? [envelope.subarray(0, alignedBytes), tail] : [tail];
}

function tryDecode(raw: Uint8Array): IndexRecord | undefined {
  try {
    return decodeIndexRecord(raw, 'touched chunk');
  } catch {
    return undefined;
  }
}

function checkIds(tenant: TenantId, chunkId: ChunkIdHex): void {
  if (typeof tenant !== 'string' || !isTenantId(tenant)) {
    throw new KisekiError('KISEKI_E_INVAL', 'invalid tenant id: use 1-63 of a-z, 0-9, -');
  }
  if (typeof chunkId !== 'string' || !isChunkIdHex(chunkId)) {
    throw new KisekiError('KISEKI_E_INVAL', 'invalid chunk id: expected 64 lowercase hex digits');
  }
}

function noent(tenant: TenantId, chunkId: ChunkIdHex): KisekiError {
  return new KisekiError('KISEKI_E_NOENT', `chunk ${tenant}/${chunkId} is not stored here`);
}

function validateOptions(o: ChunkStoreOptions): void {
  const bad = (what: string) => new KisekiError('KISEKI_E_INVAL', `chunk store option ${what}`);
  if (typeof o.dir !== 'string' || o.dir === '') throw bad('dir is required');
  if ((o.device === undefined) === (o.devicePath === undefined))
    throw bad('needs exactly one of devicePath or device');
  const r = o.criticalRatio;
  if (r !== undefined && !(r > 0 && r <= 1)) throw bad(`criticalRatio ${r} must be in (0, 1]`);
  for (const [name, v] of [
    ['inflightBytesMax', o.inflightBytesMax],
    ['commitBatchOpsMax', o.commitBatchOpsMax],
    ['touchPendingMax', o.touchPendingMax],
    ['touchFlushIntervalMs', o.touchFlushIntervalMs],
  ] as const) {
    if (v !== undefined && !(Number.isSafeInteger(v) && v > 0))
      throw bad(`${name} ${v} must be a positive integer`);
  }
}

function checkMeta(have: StoreMeta, want: StoreMeta, dir: string): void {
  if (have.format !== STORE_FORMAT) {
    throw new KisekiError(
      'KISEKI_E_UNSUPPORTED',
      `chunk index in ${dir} has format ${have.format}; upgrade kiseki-server`,
    );
  }
  if (have.deviceUuid !== want.deviceUuid) {
    throw new KisekiError(
      'KISEKI_E_INVAL',
      `chunk index in ${dir} belongs to device ${have.deviceUuid}, but the device given is ${want.deviceUuid}; point devicePath at the right device`,
    );
  }
  for (const k of ['blockSizeBytes', 'dataStartBytes', 'dataBlocks', 'bitmapPageBytes'] as const) {
    if (have[k] !== want[k]) {
      throw new KisekiError(
        'KISEKI_E_CORRUPT',
        `chunk index in ${dir} records ${k}=${have[k]} but the device has ${want[k]}`,
      );
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * One store per directory: a lock file holding the owner's pid. A lock left by a dead process
 * (crash, kill -9) is taken over. (lmdb's own lock file guards lmdb, not the device.)
 */
async function acquireDirLock(dir: string): Promise<string> {
  const path = join(resolvePath(dir), LOCK_FILE);
  if (heldDirs.has(path)) throw busy(dir, process.pid);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: 'wx' });
      heldDirs.add(path);
      return path;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
      if (Number.isSafeInteger(pid) && pid !== process.pid && (await isAlive(pid))) throw busy(dir, pid);
      await rm(path, { force: true });
    }
  }
  throw busy(dir, -1);
}

async function releaseDirLock(path: string): Promise<void> {
  if (!heldDirs.delete(path)) return;
  await rm(path, { force: true });
}

/** True when `pid` is a live process; a zombie (killed, not yet reaped) counts as dead. */
async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return true; // no procfs: trust kill(0)
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

function busy(dir: string, pid: number): KisekiError {
  return new KisekiError(
    'KISEKI_E_BUSY',
    `chunk store directory ${dir} is in use by process ${pid}; close that store first`,
  );
}
