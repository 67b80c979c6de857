/**
 * Block allocation bitmap and its free-extent cache. Pure: no I/O, no clock.
 *
 * I-C8: the bits are ground truth (persisted page by page by the owner); the free-extent list
 * is a cache derived from them, rebuilt by `fromPages` at start.
 *
 * Every block is in exactly one state:
 *
 *   FREE      bit 0, on the free list (allocatable)
 *   RESERVED  bit 0, off the free list: handed out but not yet committed, or retired but not
 *             yet reusable (a delete waiting for its commit and its readers)
 *   USED      bit 1
 *
 *   reserve(n)          FREE → RESERVED        release(e)   RESERVED → FREE
 *   commitReserved(e)   RESERVED → USED        retire(e)    USED → RESERVED
 *   allocate(n)         FREE → USED            free(e)      USED → FREE
 *   markUsed(e)         FREE → USED (a given extent, e.g. when repairing from an index)
 *
 * Only the bit-changing transitions mark pages dirty. Breaking a transition's precondition
 * (double allocation, double free, unknown reservation) is our bug and throws AssertionError,
 * leaving the state unchanged.
 *
 * Bit order: block b is bit (b & 7) of byte (b >> 3). Pages are `pageBytes` bytes, so a page
 * covers pageBytes * 8 blocks; bits past the last block are always zero.
 *
 * Free-list cost: sorted parallel arrays, so allocation (next-fit) and free are O(extents) in
 * the worst case. Fine for a skeleton with large chunks; a size-indexed tree replaces it when
 * fragmentation makes the list long.
 */
import { invariant } from '@kiseki/proto';

/** The blocks [start, start + count). */
export interface Extent {
  readonly start: number;
  readonly count: number;
}

export const BITMAP_PAGE_BYTES_DEFAULT = 4096;

export interface BlockBitmapOptions {
  /** Bytes per serialized page. Default 4096 (32768 blocks = 128 MiB of 4 KiB blocks). */
  pageBytes?: number;
}

export interface BitmapPage {
  readonly page: number;
  readonly bytes: Uint8Array;
}

export class BlockBitmap {
  readonly blocks: number;
  readonly pageBytes: number;
  readonly pageCount: number;
  private readonly bits: Uint8Array;
  private freeStarts: number[] = [];
  private freeCounts: number[] = [];
  private freeBlocksOnList = 0;
  private usedCount = 0;
  private readonly reserved = new Map<number, number>();
  private reservedCount = 0;
  private readonly dirty = new Set<number>();
  /** Next-fit cursor: where the last allocation ended. */
  private cursor = 0;

  constructor(blocks: number, opts: BlockBitmapOptions = {}) {
    invariant(Number.isSafeInteger(blocks) && blocks > 0, `bitmap block count ${blocks}`);
    this.blocks = blocks;
    this.pageBytes = opts.pageBytes ?? BITMAP_PAGE_BYTES_DEFAULT;
    invariant(Number.isSafeInteger(this.pageBytes) && this.pageBytes > 0, 'bitmap page size');
    this.pageCount = Math.ceil(Math.ceil(blocks / 8) / this.pageBytes);
    this.bits = new Uint8Array(this.pageCount * this.pageBytes);
    this.freeStarts = [0];
    this.freeCounts = [blocks];
    this.freeBlocksOnList = blocks;
  }

  /**
   * Rebuilds from persisted pages (I-C8). `page(p)` returns page p's bytes, or undefined for a
   * page never written (all free). Set bits past the last block mean the pages are not ours:
   * assertion. The result has no dirty pages and no reservations.
   */
  static fromPages(
    blocks: number,
    page: (p: number) => Uint8Array | undefined,
    opts: BlockBitmapOptions = {},
  ): BlockBitmap {
    const bm = new BlockBitmap(blocks, opts);
    for (let p = 0; p < bm.pageCount; p++) {
      const bytes = page(p);
      if (bytes === undefined) continue;
      invariant(
        bytes.length === bm.pageBytes,
        `bitmap page ${p} is ${bytes.length} bytes, expected ${bm.pageBytes}`,
      );
      bm.bits.set(bytes, p * bm.pageBytes);
    }
    bm.rebuildFreeList();
    return bm;
  }

  // ---- queries ----------------------------------------------------------------------------

  isUsed(block: number): boolean {
    this.checkBlock(block);
    return this.bit(block);
  }

  /** True when every block of `e` is USED. */
  isRangeUsed(e: Extent): boolean {
    this.checkExtent(e);
    return this.rangeAll(e, true);
  }

  /** True when every block of `e` has a zero bit (FREE or RESERVED). */
  isRangeClear(e: Extent): boolean {
    this.checkExtent(e);
    return this.rangeAll(e, false);
  }

  get usedBlocks(): number {
    return this.usedCount;
  }

  get reservedBlocks(): number {
    return this.reservedCount;
  }

  /** Blocks on the free list (allocatable now). */
  get freeBlocks(): number {
    return this.freeBlocksOnList;
  }

  get freeExtentCount(): number {
    return this.freeStarts.length;
  }

  /** A copy of the free list, sorted by start. */
  freeExtents(): Extent[] {
    return this.freeStarts.map((start, i) => ({ start, count: this.freeCounts[i]! }));
  }

  /** A copy of the outstanding reservations, sorted by start. */
  reservations(): Extent[] {
    return [...this.reserved].map(([start, count]) => ({ start, count })).sort((a, b) => a.start - b.start);
  }

  largestFreeExtent(): number {
    let max = 0;
    for (const c of this.freeCounts) if (c > max) max = c;
    return max;
  }

  // ---- transitions ------------------------------------------------------------------------

  /** FREE → RESERVED: a contiguous extent of `count` blocks (next-fit), or undefined if none is large enough. */
  reserve(count: number): Extent | undefined {
    invariant(Number.isSafeInteger(count) && count > 0, `reserve count ${count}`);
    const n = this.freeStarts.length;
    if (n === 0 || count > this.freeBlocksOnList) return undefined;
    const from = lowerBound(this.freeStarts, this.cursor);
    for (let k = 0; k < n; k++) {
      const i = (from + k) % n;
      if (this.freeCounts[i]! >= count) {
        const e: Extent = { start: this.freeStarts[i]!, count };
        this.takeFromFreeList(e);
        this.reserved.set(e.start, count);
        this.reservedCount += count;
        this.cursor = e.start + count;
        return e;
      }
    }
    return undefined;
  }

  /** RESERVED → FREE. */
  release(e: Extent): void {
    this.takeReservation(e, 'release');
    this.insertFree(e);
  }

  /** RESERVED → USED (marks pages dirty). */
  commitReserved(e: Extent): void {
    this.checkExtent(e);
    invariant(this.reserved.get(e.start) === e.count, `commit of unreserved extent ${fmt(e)}`);
    invariant(this.rangeAll(e, false), `commit of ${fmt(e)} over used blocks`);
    this.takeReservation(e, 'commit');
    this.setRange(e, true);
  }

  /** USED → RESERVED: bits cleared (pages dirty) but not reusable until `release`. */
  retire(e: Extent): void {
    this.checkExtent(e);
    invariant(this.rangeAll(e, true), `double free: retire of ${fmt(e)} over unused blocks`);
    invariant(!this.reserved.has(e.start), `retire of ${fmt(e)} overlaps a reservation`);
    this.setRange(e, false);
    this.reserved.set(e.start, e.count);
    this.reservedCount += e.count;
  }

  /** FREE → USED: `count` contiguous blocks, or undefined. */
  allocate(count: number): Extent | undefined {
    const e = this.reserve(count);
    if (e !== undefined) this.commitReserved(e);
    return e;
  }

  /** USED → FREE. */
  free(e: Extent): void {
    this.retire(e);
    this.release(e);
  }

  /** FREE → USED for a given extent, which must lie on the free list. */
  markUsed(e: Extent): void {
    this.checkExtent(e);
    invariant(this.rangeAll(e, false), `double allocation: markUsed of ${fmt(e)} over used blocks`);
    this.takeFromFreeList(e);
    this.setRange(e, true);
  }

  // ---- serialization ----------------------------------------------------------------------

  /** A copy of page p's bytes. */
  page(p: number): Uint8Array {
    invariant(Number.isSafeInteger(p) && p >= 0 && p < this.pageCount, `bitmap page ${p}`);
    return this.bits.slice(p * this.pageBytes, (p + 1) * this.pageBytes);
  }

  dirtyPageNumbers(): number[] {
    return [...this.dirty].sort((a, b) => a - b);
  }

  /** Copies of the dirty pages, sorted; clears the dirty set. Persist them all in one transaction. */
  takeDirtyPages(): BitmapPage[] {
    const out = this.dirtyPageNumbers().map((page) => ({ page, bytes: this.page(page) }));
    this.dirty.clear();
    return out;
  }

  /** Asserts the internal invariants (O(blocks)); for tests and fsck. */
  checkInvariants(): void {
    let onList = 0;
    let prevEnd = -1;
    for (let i = 0; i < this.freeStarts.length; i++) {
      const e = { start: this.freeStarts[i]!, count: this.freeCounts[i]! };
      invariant(e.count > 0 && e.start + e.count <= this.blocks, `free extent ${fmt(e)} in range`);
      invariant(e.start > prevEnd, `free list sorted and coalesced at ${fmt(e)}`);
      invariant(this.rangeAll(e, false), `free extent ${fmt(e)} has clear bits`);
      prevEnd = e.start + e.count;
      onList += e.count;
    }
    invariant(onList === this.freeBlocksOnList, 'free block count');
    let reserved = 0;
    for (const [start, count] of this.reserved) {
      const e = { start, count };
      invariant(this.rangeAll(e, false), `reservation ${fmt(e)} has clear bits`);
      const i = lowerBound(this.freeStarts, start + count) - 1;
      invariant(
        i < 0 || this.freeStarts[i]! + this.freeCounts[i]! <= start,
        `reservation ${fmt(e)} off the free list`,
      );
      reserved += count;
    }
    invariant(reserved === this.reservedCount, 'reserved block count');
    let used = 0;
    for (let b = 0; b < this.blocks; b++) if (this.bit(b)) used++;
    invariant(used === this.usedCount, `used count ${this.usedCount} matches bits ${used}`);
    invariant(used + reserved + onList === this.blocks, 'every block is FREE, RESERVED or USED');
    for (let b = this.blocks; b < this.bits.length * 8; b++)
      invariant(!this.bit(b), 'bits past the end are zero');
  }

  // ---- internals --------------------------------------------------------------------------

  private bit(b: number): boolean {
    return (this.bits[b >>> 3]! & (1 << (b & 7))) !== 0;
  }

  private checkBlock(b: number): void {
    invariant(Number.isSafeInteger(b) && b >= 0 && b < this.blocks, `block ${b} in [0, ${this.blocks})`);
  }

  private checkExtent(e: Extent): void {
    invariant(
      Number.isSafeInteger(e.start) &&
        Number.isSafeInteger(e.count) &&
        e.start >= 0 &&
        e.count > 0 &&
        e.start + e.count <= this.blocks,
      `extent ${fmt(e)} in [0, ${this.blocks})`,
    );
  }

  /** True when every bit of `e` equals `value`. Byte-at-a-time in the middle. */
  private rangeAll(e: Extent, value: boolean): boolean {
    let b = e.start;
    const end = e.start + e.count;
    const full = value ? 0xff : 0x00;
    while (b < end && (b & 7) !== 0) {
      if (this.bit(b) !== value) return false;
      b++;
    }
    while (b + 8 <= end) {
      if (this.bits[b >>> 3] !== full) return false;
      b += 8;
    }
    while (b < end) {
      if (this.bit(b) !== value) return false;
      b++;
    }
    return true;
  }

  private setRange(e: Extent, value: boolean): void {
    let b = e.start;
    const end = e.start + e.count;
    while (b < end && (b & 7) !== 0) this.setBit(b++, value);
    if (b + 8 <= end) {
      const fullEnd = end & ~7;
      this.bits.fill(value ? 0xff : 0x00, b >>> 3, fullEnd >>> 3);
      b = fullEnd;
    }
    while (b < end) this.setBit(b++, value);
    this.usedCount += value ? e.count : -e.count;
    const firstPage = Math.floor((e.start >>> 3) / this.pageBytes);
    const lastPage = Math.floor(((end - 1) >>> 3) / this.pageBytes);
    for (let p = firstPage; p <= lastPage; p++) this.dirty.add(p);
  }

  private setBit(b: number, value: boolean): void {
    if (value) this.bits[b >>> 3]! |= 1 << (b & 7);
    else this.bits[b >>> 3]! &= ~(1 << (b & 7));
  }

  private takeReservation(e: Extent, what: string): void {
    invariant(this.reserved.get(e.start) === e.count, `${what} of unreserved extent ${fmt(e)}`);
    this.reserved.delete(e.start);
    this.reservedCount -= e.count;
  }

  /** Removes `e` from the free list; it must lie inside one free extent. */
  private takeFromFreeList(e: Extent): void {
    const i = lowerBound(this.freeStarts, e.start + 1) - 1;
    invariant(i >= 0, `double allocation: ${fmt(e)} is not free`);
    const fs = this.freeStarts[i]!;
    const fc = this.freeCounts[i]!;
    invariant(fs <= e.start && e.start + e.count <= fs + fc, `double allocation: ${fmt(e)} is not free`);
    const before = e.start - fs;
    const after = fs + fc - (e.start + e.count);
    if (before > 0 && after > 0) {
      this.freeCounts[i] = before;
      this.freeStarts.splice(i + 1, 0, e.start + e.count);
      this.freeCounts.splice(i + 1, 0, after);
    } else if (before > 0) {
      this.freeCounts[i] = before;
    } else if (after > 0) {
      this.freeStarts[i] = e.start + e.count;
      this.freeCounts[i] = after;
    } else {
      this.freeStarts.splice(i, 1);
      this.freeCounts.splice(i, 1);
    }
    this.freeBlocksOnList -= e.count;
  }

  /** Adds `e` to the free list, coalescing with neighbours; overlap means a double free. */
  private insertFree(e: Extent): void {
    const i = lowerBound(this.freeStarts, e.start);
    const end = e.start + e.count;
    const prev = i - 1;
    invariant(
      prev < 0 || this.freeStarts[prev]! + this.freeCounts[prev]! <= e.start,
      `double free of ${fmt(e)}`,
    );
    invariant(i >= this.freeStarts.length || this.freeStarts[i]! >= end, `double free of ${fmt(e)}`);
    const joinPrev = prev >= 0 && this.freeStarts[prev]! + this.freeCounts[prev]! === e.start;
    const joinNext = i < this.freeStarts.length && this.freeStarts[i] === end;
    if (joinPrev && joinNext) {
      this.freeCounts[prev]! += e.count + this.freeCounts[i]!;
      this.freeStarts.splice(i, 1);
      this.freeCounts.splice(i, 1);
    } else if (joinPrev) {
      this.freeCounts[prev]! += e.count;
    } else if (joinNext) {
      this.freeStarts[i] = e.start;
      this.freeCounts[i]! += e.count;
    } else {
      this.freeStarts.splice(i, 0, e.start);
      this.freeCounts.splice(i, 0, e.count);
    }
    this.freeBlocksOnList += e.count;
  }

  /** Derives the free list and used count from the bits (I-C8). */
  private rebuildFreeList(): void {
    const starts: number[] = [];
    const counts: number[] = [];
    let used = 0;
    let runStart = -1;
    let b = 0;
    while (b < this.blocks) {
      if ((b & 7) === 0 && b + 8 <= this.blocks) {
        const byte = this.bits[b >>> 3]!;
        if (byte === 0x00) {
          if (runStart < 0) runStart = b;
          b += 8;
          continue;
        }
        if (byte === 0xff) {
          if (runStart >= 0) {
            starts.push(runStart);
            counts.push(b - runStart);
            runStart = -1;
          }
          used += 8;
          b += 8;
          continue;
        }
      }
      if (this.bit(b)) {
        used++;
        if (runStart >= 0) {
          starts.push(runStart);
          counts.push(b - runStart);
          runStart = -1;
        }
      } else if (runStart < 0) {
        runStart = b;
      }
      b++;
    }
    if (runStart >= 0) {
      starts.push(runStart);
      counts.push(this.blocks - runStart);
    }
    for (let x = this.blocks; x < this.bits.length * 8; x++) {
      invariant(
        !this.bit(x),
        `bitmap bit ${x} past the last block ${this.blocks - 1} is set: pages belong to another geometry`,
      );
    }
    this.freeStarts = starts;
    this.freeCounts = counts;
    this.freeBlocksOnList = this.blocks - used;
    this.usedCount = used;
    this.cursor = 0;
  }
}

/** First index i with arr[i] >= x (arr sorted ascending). */
function lowerBound(arr: readonly number[], x: number): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function fmt(e: Extent): string {
  return `[${e.start}, +${e.count})`;
}
