/**
 * DeviceAllocator: extents on a DeviceBackend with the allocation bitmap kept ON the device,
 * twice (a primary copy at the start of the data area, a mirror at the end), so a device alone
 * says which of its blocks are in use (I-C8: the bitmap is ground truth; the free list is
 * rebuilt from it at open). Every extent is block aligned (I-C7) and starts with a header
 * carrying its geometry, an owner tag and the payload's CRC-32C; reads check both.
 *
 * Write protocol (one group commit for every write and free queued meanwhile):
 *   1. write: reserve blocks (memory only), write header + payload into them;
 *   2. (no sync of its own: the sync in 3 makes payloads and pages durable together, and
 *      nothing points at either before the commit record in 4)
 *   3. set/clear the batch's bits; write the dirty pages of the PRIMARY copy with generation
 *      g+1, sync;
 *   4. write the primary commit record g+1, sync  ← the commit point;
 *   5. write the same pages to the MIRROR, sync; write the mirror commit record g+1, sync;
 *   6. resolve the writes; freed blocks become reusable only now.
 * Recovery (open): H = the highest valid commit record; each page is the copy with the highest
 * generation <= H (a page with a newer generation belongs to a commit that never reached its
 * commit point, a torn page fails its CRC). Commits are serialised, so the mirror holds every
 * page as of H-1 whenever the primary is being rewritten, and the primary holds H whenever the
 * mirror is: a crash anywhere in 1–6 recovers to the state before or after the batch, never a
 * mix. Then every used run must be tiled by valid extent headers; blocks that are not (damage)
 * are freed and reported as leaked, and any stale or repaired page is rewritten to both copies.
 *
 * Any I/O failure stops the allocator (KISEKI_E_UNAVAILABLE for everything after): after a
 * failed fsync the device's state is unknown, and reopening recovers as after a crash.
 */
import { crc32c } from '@kiseki/native';
import { invariant, KisekiError } from '@kiseki/proto';
import {
  BITMAP_PAGE_HEADER_BYTES,
  type Copy,
  decodeCommit,
  decodeExtentHeader,
  decodePage,
  EXTENT_HEADER_BYTES,
  encodeCommit,
  encodeExtentHeader,
  encodePage,
  OWNER_BYTES,
  type PageRecord,
} from './allocator-format.ts';
import { type BitmapPage, BlockBitmap, type Extent } from './bitmap.ts';
import type { DeviceBackend } from './device.ts';

/** Operations per group commit. */
export const COMMIT_BATCH_OPS_MAX = 1024;
/** Largest payload of one extent. */
export const EXTENT_PAYLOAD_BYTES_MAX = 64 * 1024 * 1024;

/** An extent handed out by `write`: allocatable-block coordinates. */
export type ExtentRef = Extent;

export interface RecoveryReport {
  /** The committed generation recovered. */
  readonly generation: number;
  /** Bitmap pages that were stale, torn or uncommitted in one copy and were rewritten. */
  readonly repairedPages: number;
  /** Used blocks no valid extent header accounted for; freed. */
  readonly leakedBlocks: number;
  /** Valid extents found. */
  readonly extents: number;
}

interface Layout {
  readonly bs: number;
  /** Device block index of the data area's first block. */
  readonly base: number;
  readonly pageCount: number;
  /** Allocatable blocks. */
  readonly blocks: number;
  /** Device block of each copy's commit record; its pages follow it. */
  readonly copyAt: readonly [number, number];
  /** Device block of allocatable block 0. */
  readonly extentsAt: number;
}

function layoutOf(dev: DeviceBackend): Layout {
  const bs = dev.blockSizeBytes;
  const base = dev.dataStartBytes / bs;
  const total = (dev.sizeBytes - dev.dataStartBytes) / bs;
  const bitsPerPage = (bs - BITMAP_PAGE_HEADER_BYTES) * 8;
  const pageCount = Math.max(1, Math.ceil(total / bitsPerPage));
  const blocks = total - 2 * (1 + pageCount);
  if (blocks < 1)
    throw new KisekiError('KISEKI_E_INVAL', `device of ${dev.sizeBytes} bytes has no room for extents`);
  invariant(blocks <= 0xffff_ffff, 'allocatable blocks fit u32');
  return {
    bs,
    base,
    pageCount,
    blocks,
    copyAt: [base, base + total - 1 - pageCount],
    extentsAt: base + 1 + pageCount,
  };
}

type Op =
  | { kind: 'put'; extent: Extent; resolve: () => void; reject: (e: unknown) => void }
  | { kind: 'free'; extent: Extent; resolve: () => void; reject: (e: unknown) => void };

export class DeviceAllocator {
  private readonly queue: Op[] = [];
  private committing: Promise<void> | undefined;
  /** True while commitLoop runs; cleared synchronously when it sees an empty queue, so no op is stranded. */
  private looping = false;
  private failure: unknown;

  private constructor(
    readonly device: DeviceBackend,
    private readonly layout: Layout,
    private readonly bitmap: BlockBitmap,
    private generation: number,
  ) {}

  /** Writes an empty bitmap (both copies, generation 1) over the device's data area. */
  static async format(device: DeviceBackend): Promise<DeviceAllocator> {
    const layout = layoutOf(device);
    const bitmap = new BlockBitmap(layout.blocks, { pageBytes: layout.bs - BITMAP_PAGE_HEADER_BYTES });
    const a = new DeviceAllocator(device, layout, bitmap, 0);
    await a.commitPages(
      Array.from({ length: layout.pageCount }, (_, p) => ({ page: p, bytes: bitmap.page(p) })),
    );
    return a;
  }

  /**
   * Recovers the allocator from the device (see the header comment). Errors (KisekiError): no
   * allocator on the device → KISEKI_E_INVAL; a page lost in both copies or records for
   * another geometry → KISEKI_E_CORRUPT.
   */
  static async open(device: DeviceBackend): Promise<{ allocator: DeviceAllocator; report: RecoveryReport }> {
    const L = layoutOf(device);
    const copies = await Promise.all(
      [0, 1].map((c) => device.read(L.copyAt[c as Copy] * L.bs, (1 + L.pageCount) * L.bs)),
    );
    const commits = copies.map((bytes) => decodeCommit(bytes.subarray(0, L.bs)));
    let H = -1;
    for (const c of commits) {
      if (c === undefined) continue;
      if (c.pageCount !== L.pageCount || c.blocks !== L.blocks) {
        throw new KisekiError('KISEKI_E_CORRUPT', 'allocator commit record is for another device geometry');
      }
      H = Math.max(H, c.generation);
    }
    if (H < 0) throw new KisekiError('KISEKI_E_INVAL', 'no extent allocator on this device: format it first');
    const chosen: PageRecord[] = [];
    let repairedPages = 0;
    for (let p = 0; p < L.pageCount; p++) {
      const recs = copies.map((bytes, c) => {
        const r = decodePage(bytes.subarray((1 + p) * L.bs, (2 + p) * L.bs));
        return r !== undefined && r.page === p && r.copy === c && r.generation <= H ? r : undefined;
      });
      const [a, b] = recs;
      const best = a === undefined ? b : b === undefined || a.generation >= b.generation ? a : b;
      if (best === undefined) {
        throw new KisekiError('KISEKI_E_CORRUPT', `allocation bitmap page ${p} is damaged in both copies`);
      }
      if (a?.generation !== best.generation || b?.generation !== best.generation) repairedPages++;
      chosen.push(best);
    }
    const bitmap = BlockBitmap.fromPages(L.blocks, (p) => chosen[p]!.bits, {
      pageBytes: L.bs - BITMAP_PAGE_HEADER_BYTES,
    });
    const alloc = new DeviceAllocator(device, L, bitmap, H);
    // Every used run must be tiled by extents; anything else is freed.
    let leakedBlocks = 0;
    let extents = 0;
    for (const run of usedRuns(bitmap)) {
      for await (const step of alloc.walk(run)) {
        if (step.extent !== undefined) extents++;
        else {
          bitmap.free(step.leaked);
          leakedBlocks += step.leaked.count;
        }
      }
    }
    const needsRewrite = repairedPages > 0 || leakedBlocks > 0 || commits.some((c) => c?.generation !== H);
    bitmap.takeDirtyPages();
    if (needsRewrite) {
      await alloc.commitPages(
        Array.from({ length: L.pageCount }, (_, p) => ({ page: p, bytes: bitmap.page(p) })),
      );
    }
    return {
      allocator: alloc,
      report: { generation: alloc.generation, repairedPages, leakedBlocks, extents },
    };
  }

  /** Allocatable blocks, used and free (free excludes reservations). */
  get stats(): { blocks: number; usedBlocks: number; freeBlocks: number; blockSizeBytes: number } {
    return {
      blocks: this.bitmap.blocks,
      usedBlocks: this.bitmap.usedBlocks,
      freeBlocks: this.bitmap.freeBlocks,
      blockSizeBytes: this.layout.bs,
    };
  }

  /**
   * Stores `payload` in a new extent tagged with `owner` (16 bytes); resolves once the extent
   * and its bitmap bits are durable (steps 1–6). No room → KISEKI_E_NOSPC.
   */
  async write(payload: Uint8Array, owner: Uint8Array): Promise<ExtentRef> {
    this.checkUsable();
    invariant(owner.length === OWNER_BYTES, 'owner tag is 16 bytes');
    if (payload.length > EXTENT_PAYLOAD_BYTES_MAX) {
      throw new KisekiError(
        'KISEKI_E_TOOBIG',
        `extent payload of ${payload.length} bytes is over ${EXTENT_PAYLOAD_BYTES_MAX}`,
      );
    }
    const bs = this.layout.bs;
    const count = Math.ceil((EXTENT_HEADER_BYTES + payload.length) / bs);
    const extent = this.bitmap.reserve(count);
    if (extent === undefined) {
      throw new KisekiError(
        'KISEKI_E_NOSPC',
        `no free run of ${count} blocks on the device; free space or add a device`,
      );
    }
    let queued = false;
    try {
      const bytes = Buffer.alloc(count * bs);
      encodeExtentHeader(
        { start: extent.start, count, payloadBytes: payload.length, payloadCrc32c: crc32c(payload), owner },
        bytes,
      );
      bytes.set(payload, EXTENT_HEADER_BYTES);
      await this.device.write(this.offsetOf(extent.start), bytes);
      const done = this.enqueue('put', extent);
      queued = true;
      await done;
      return extent;
    } catch (err) {
      if (!queued && this.failure === undefined) this.bitmap.release(extent);
      throw err;
    }
  }

  /**
   * Reads an extent's payload and owner, checking header and CRC-32C (KISEKI_E_CORRUPT
   * otherwise). An extent that is not allocated → KISEKI_E_NOENT.
   */
  async read(ref: ExtentRef): Promise<{ payload: Buffer; owner: Uint8Array }> {
    this.checkUsable();
    if (
      !Number.isSafeInteger(ref.start) ||
      !Number.isSafeInteger(ref.count) ||
      ref.start < 0 ||
      ref.count < 1 ||
      ref.start + ref.count > this.bitmap.blocks ||
      !this.bitmap.isRangeUsed(ref)
    ) {
      // A stale reference (the extent was freed, maybe reused): expected when an index lags.
      throw new KisekiError(
        'KISEKI_E_NOENT',
        `extent [${ref.start}, +${ref.count}) is not allocated on this device`,
      );
    }
    const bytes = await this.device.read(this.offsetOf(ref.start), ref.count * this.layout.bs);
    const h = decodeExtentHeader(bytes);
    const where = `extent [${ref.start}, +${ref.count})`;
    if (h === undefined || h.start !== ref.start || h.count !== ref.count) {
      throw new KisekiError(
        'KISEKI_E_CORRUPT',
        `${where}: header damaged; rebuild the data from its other copies`,
      );
    }
    const payload = bytes.subarray(EXTENT_HEADER_BYTES, EXTENT_HEADER_BYTES + h.payloadBytes);
    if (EXTENT_HEADER_BYTES + h.payloadBytes > bytes.length || crc32c(payload) !== h.payloadCrc32c) {
      throw new KisekiError(
        'KISEKI_E_CORRUPT',
        `${where}: payload checksum mismatch; rebuild the data from its other copies`,
      );
    }
    return { payload, owner: h.owner };
  }

  /** Frees an extent; resolves once the cleared bits are durable. */
  async free(ref: ExtentRef): Promise<void> {
    this.checkUsable();
    await this.enqueue('free', ref);
  }

  /** The extents on the device, in block order, with their owner tags (for the owner's reconciliation). */
  async *extents(): AsyncGenerator<{ ref: ExtentRef; owner: Uint8Array }> {
    for (const run of usedRuns(this.bitmap)) {
      for await (const step of this.walk(run)) if (step.extent !== undefined) yield step.extent;
    }
  }

  /**
   * Scrub: reads every extent and checks its header and payload CRC-32C. Returns the damaged
   * ones with their owner tags (when the header still reads) so the owner can rebuild them from
   * other copies or parity. `onProgress` gets (extents checked, blocks checked); `signal` stops
   * between extents (the result then covers what was checked).
   */
  async scrub(
    opts: { signal?: AbortSignal; onProgress?: (extents: number, blocks: number) => void } = {},
  ): Promise<{ checked: number; damaged: { ref: ExtentRef; owner?: Uint8Array; reason: string }[] }> {
    const damaged: { ref: ExtentRef; owner?: Uint8Array; reason: string }[] = [];
    let checked = 0;
    let blocks = 0;
    for (const run of usedRuns(this.bitmap)) {
      for await (const step of this.walk(run)) {
        if (opts.signal?.aborted) return { checked, damaged };
        const ref = step.extent === undefined ? step.leaked : step.extent.ref;
        try {
          if (step.extent === undefined) throw new KisekiError('KISEKI_E_CORRUPT', 'no valid extent header');
          await this.read(ref);
        } catch (err) {
          if (!(err instanceof KisekiError)) throw err;
          damaged.push({ ref, ...(step.extent ? { owner: step.extent.owner } : {}), reason: err.message });
        }
        checked++;
        blocks += ref.count;
        opts.onProgress?.(checked, blocks);
      }
    }
    return { checked, damaged };
  }

  /**
   * Full check for tests and fsck: the bitmap's own invariants, and the used blocks tiled
   * exactly by valid extents (nothing leaked, nothing counted twice). Returns the extents.
   */
  async check(): Promise<{ ref: ExtentRef; owner: Uint8Array }[]> {
    this.bitmap.checkInvariants();
    const out: { ref: ExtentRef; owner: Uint8Array }[] = [];
    let covered = 0;
    for await (const e of this.extents()) {
      out.push(e);
      covered += e.ref.count;
    }
    invariant(
      covered === this.bitmap.usedBlocks,
      `extents cover ${covered} of ${this.bitmap.usedBlocks} used blocks`,
    );
    return out;
  }

  /** Waits for the commit in progress. Closes the device. */
  async close(): Promise<void> {
    await this.committing?.catch(() => undefined);
    await this.device.close();
  }

  // ---- internals --------------------------------------------------------------------------

  private offsetOf(block: number): number {
    return (this.layout.extentsAt + block) * this.layout.bs;
  }

  private checkUsable(): void {
    if (this.failure !== undefined) {
      throw new KisekiError(
        'KISEKI_E_UNAVAILABLE',
        'the device allocator stopped after an I/O failure; reopen it',
        {
          cause: this.failure,
        },
      );
    }
  }

  private enqueue(kind: Op['kind'], extent: Extent): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ kind, extent, resolve, reject });
      if (!this.looping) {
        this.looping = true;
        this.committing = this.commitLoop();
      }
    });
  }

  /**
   * One batch at a time until the queue is empty. `looping` is cleared in the same synchronous
   * step that finds the queue empty (never after an await), so an op enqueued at any moment is
   * either taken by this loop or starts the next one, and two loops never overlap.
   */
  private async commitLoop(): Promise<void> {
    for (;;) {
      if (this.queue.length === 0) {
        this.looping = false;
        return;
      }
      const batch = this.queue.splice(0, COMMIT_BATCH_OPS_MAX);
      try {
        this.checkUsable();
        for (const op of batch) {
          if (op.kind === 'put') this.bitmap.commitReserved(op.extent);
          else this.bitmap.retire(op.extent);
        }
        await this.commitPages(this.bitmap.takeDirtyPages());
        for (const op of batch) if (op.kind === 'free') this.bitmap.release(op.extent);
        for (const op of batch) op.resolve();
      } catch (err) {
        this.failure ??= err;
        const why = new KisekiError('KISEKI_E_UNAVAILABLE', 'device I/O failed during an allocator commit', {
          cause: err,
        });
        for (const op of [...batch, ...this.queue.splice(0)])
          op.reject(err instanceof KisekiError ? err : why);
        this.looping = false;
        return;
      }
    }
  }

  /** Steps 3–5: `pages` to the primary, its commit record, then the same to the mirror. */
  private async commitPages(pages: readonly BitmapPage[]): Promise<void> {
    const gen = this.generation + 1;
    const L = this.layout;
    for (const copy of [0, 1] as const) {
      await Promise.all(
        pages.map((p) =>
          this.device.write(
            (L.copyAt[copy] + 1 + p.page) * L.bs,
            encodePage({ generation: gen, page: p.page, copy, bits: p.bytes }, L.bs),
          ),
        ),
      );
      await this.device.sync();
      await this.device.write(
        L.copyAt[copy] * L.bs,
        encodeCommit({ generation: gen, pageCount: L.pageCount, blocks: L.blocks, copy }, L.bs),
      );
      await this.device.sync();
    }
    this.generation = gen;
  }

  /** Walks one used run header by header: each step is an extent, or one block no extent accounts for. */
  private async *walk(
    run: Extent,
  ): AsyncGenerator<
    | { extent: { ref: ExtentRef; owner: Uint8Array }; leaked?: undefined }
    | { extent?: undefined; leaked: Extent }
  > {
    const end = run.start + run.count;
    let pos = run.start;
    while (pos < end) {
      const head = await this.device.read(this.offsetOf(pos), this.layout.bs);
      const h = decodeExtentHeader(head);
      if (h !== undefined && h.start === pos && h.count > 0 && pos + h.count <= end) {
        yield { extent: { ref: { start: pos, count: h.count }, owner: h.owner } };
        pos += h.count;
      } else {
        yield { leaked: { start: pos, count: 1 } };
        pos++;
      }
    }
  }
}

/** The maximal runs of USED blocks (the complement of the free list and the reservations). */
function usedRuns(bm: BlockBitmap): Extent[] {
  const holes = [...bm.freeExtents(), ...bm.reservations()].sort((a, b) => a.start - b.start);
  const runs: Extent[] = [];
  let at = 0;
  for (const h of holes) {
    if (h.start > at) runs.push({ start: at, count: h.start - at });
    at = Math.max(at, h.start + h.count);
  }
  if (at < bm.blocks) runs.push({ start: at, count: bm.blocks - at });
  return runs.filter((r) => bm.isRangeUsed(r));
}
