/**
 * Start-up check of the allocation bitmap against the chunk index. Pure: no I/O.
 *
 * The put and delete paths change the index and the bitmap pages in one lmdb transaction, so
 * the two agree after any crash and both lists come back empty. The check is the safety net
 * for our bugs and for damage: a block marked used that no index entry covers is "leaked" (the
 * caller frees it); a block an index entry covers but the bitmap marks free is "unmarked" (the
 * caller marks it used, the conservative repair). Two index entries sharing a block is data
 * corruption we can't repair here: assertion.
 */
import { invariant } from '@kiseki/proto';
import type { BlockBitmap, Extent } from '../block/index.ts';

export interface ReconcileResult {
  /** Runs of blocks marked used that no index entry covers. */
  readonly leaked: Extent[];
  /** Runs of blocks covered by an index entry but marked free. */
  readonly unmarked: Extent[];
  readonly leakedBlocks: number;
  readonly unmarkedBlocks: number;
  readonly chunks: number;
}

export interface IndexedExtent {
  readonly extent: Extent;
  /** Names the entry in an assertion message. */
  readonly what: string;
}

export function reconcileBitmap(bitmap: BlockBitmap, entries: Iterable<IndexedExtent>): ReconcileResult {
  const coverage = new Uint8Array(bitmap.pageCount * bitmap.pageBytes);
  let chunks = 0;
  for (const { extent, what } of entries) {
    invariant(
      extent.start >= 0 && extent.count > 0 && extent.start + extent.count <= bitmap.blocks,
      `index entry ${what} extent [${extent.start}, +${extent.count}) inside the device`,
    );
    const clash = setBitsChecked(coverage, extent.start, extent.count);
    invariant(clash < 0, `index entries overlap at block ${clash} (entry ${what}): the index is corrupt`);
    chunks++;
  }
  const leaked: Extent[] = [];
  const unmarked: Extent[] = [];
  let leakedBlocks = 0;
  let unmarkedBlocks = 0;
  for (let p = 0; p < bitmap.pageCount; p++) {
    const have = bitmap.page(p);
    const base = p * bitmap.pageBytes;
    for (let i = 0; i < have.length; i++) {
      const h = have[i]!;
      const c = coverage[base + i]!;
      if (h === c) continue;
      for (let bit = 0; bit < 8; bit++) {
        const block = (base + i) * 8 + bit;
        const inH = (h >> bit) & 1;
        const inC = (c >> bit) & 1;
        if (inH && !inC) {
          extendRun(leaked, block);
          leakedBlocks++;
        } else if (inC && !inH) {
          extendRun(unmarked, block);
          unmarkedBlocks++;
        }
      }
    }
  }
  return { leaked, unmarked, leakedBlocks, unmarkedBlocks, chunks };
}

function extendRun(runs: Extent[], block: number): void {
  const last = runs[runs.length - 1];
  if (last !== undefined && last.start + last.count === block) {
    runs[runs.length - 1] = { start: last.start, count: last.count + 1 };
  } else {
    runs.push({ start: block, count: 1 });
  }
}

/** Sets bits [start, start + count); returns the first block already set, or -1. */
function setBitsChecked(bits: Uint8Array, start: number, count: number): number {
  let b = start;
  const end = start + count;
  while (b < end) {
    if ((b & 7) === 0 && b + 8 <= end) {
      if (bits[b >>> 3] !== 0) return firstSet(bits, b);
      bits[b >>> 3] = 0xff;
      b += 8;
      continue;
    }
    const mask = 1 << (b & 7);
    if (bits[b >>> 3]! & mask) return b;
    bits[b >>> 3]! |= mask;
    b++;
  }
  return -1;
}

function firstSet(bits: Uint8Array, b: number): number {
  while (!(bits[b >>> 3]! & (1 << (b & 7)))) b++;
  return b;
}
