/**
 * On-device formats of the DeviceAllocator (allocator.ts): pure codecs, no I/O. Version 1,
 * little-endian. Each record fills one device block (bitmap page, commit record) or starts an
 * extent (extent header); each carries a CRC-32C.
 *
 * Bitmap page (one block; the bits of BlockBitmap page `page`, `bs - 32` bytes of them):
 *   0  8 magic 'KSKBMP01' | 8 8 generation u64 | 16 4 page u32 | 20 4 copy u32 (0 primary,
 *   1 mirror) | 24 4 reserved | 28 4 crc32c of [0, 28) then [32, bs) | 32.. bits
 *
 * Commit record (one block before each copy's pages): the generation that copy has committed.
 *   0  8 magic 'KSKBMC01' | 8 8 generation u64 | 16 4 page count u32 | 20 4 allocatable
 *   blocks u32 | 24 4 copy u32 | 28 4 crc32c of [0, 28)
 *
 * Extent header (first 64 bytes of an extent's first block; the payload follows):
 *   0  8 magic 'KSKEXT01' | 8 4 start block u32 | 12 4 block count u32 | 16 4 payload bytes
 *   u32 | 20 4 payload crc32c | 24 4 reserved | 28 16 owner (opaque to the allocator) |
 *   44 16 reserved | 60 4 crc32c of [0, 60)
 *
 * A change to these layouts is a new version and new golden fixtures (allocator-format.test.ts).
 */
import { crc32c } from '@kiseki/native';
import { invariant } from '@kiseki/proto';

export const BITMAP_PAGE_HEADER_BYTES = 32;
export const EXTENT_HEADER_BYTES = 64;
export const OWNER_BYTES = 16;

const PAGE_MAGIC = Buffer.from('KSKBMP01', 'ascii');
const COMMIT_MAGIC = Buffer.from('KSKBMC01', 'ascii');
const EXTENT_MAGIC = Buffer.from('KSKEXT01', 'ascii');

export type Copy = 0 | 1;

export interface PageRecord {
  readonly generation: number;
  readonly page: number;
  readonly copy: Copy;
  readonly bits: Uint8Array;
}

export interface CommitRecord {
  readonly generation: number;
  readonly pageCount: number;
  readonly blocks: number;
  readonly copy: Copy;
}

export interface ExtentHeader {
  readonly start: number;
  readonly count: number;
  readonly payloadBytes: number;
  readonly payloadCrc32c: number;
  readonly owner: Uint8Array;
}

const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.length);
const hasMagic = (b: Uint8Array, magic: Buffer): boolean =>
  b.length >= 8 && Buffer.from(b.buffer, b.byteOffset, 8).equals(magic);

export function encodePage(r: PageRecord, blockBytes: number): Uint8Array {
  invariant(r.bits.length === blockBytes - BITMAP_PAGE_HEADER_BYTES, 'bitmap page fills one block');
  const out = new Uint8Array(blockBytes);
  const v = view(out);
  out.set(PAGE_MAGIC, 0);
  v.setBigUint64(8, BigInt(r.generation), true);
  v.setUint32(16, r.page, true);
  v.setUint32(20, r.copy, true);
  out.set(r.bits, BITMAP_PAGE_HEADER_BYTES);
  v.setUint32(28, pageCrc(out), true);
  return out;
}

/** The page in `block`, or undefined when it is torn, damaged or never written. */
export function decodePage(block: Uint8Array): PageRecord | undefined {
  if (!hasMagic(block, PAGE_MAGIC) || block.length <= BITMAP_PAGE_HEADER_BYTES) return undefined;
  const v = view(block);
  if (v.getUint32(28, true) !== pageCrc(block)) return undefined;
  const copy = v.getUint32(20, true);
  if (copy !== 0 && copy !== 1) return undefined;
  return {
    generation: Number(v.getBigUint64(8, true)),
    page: v.getUint32(16, true),
    copy,
    bits: block.subarray(BITMAP_PAGE_HEADER_BYTES),
  };
}

function pageCrc(block: Uint8Array): number {
  return crc32c(block.subarray(BITMAP_PAGE_HEADER_BYTES), crc32c(block.subarray(0, 28)));
}

export function encodeCommit(r: CommitRecord, blockBytes: number): Uint8Array {
  const out = new Uint8Array(blockBytes);
  const v = view(out);
  out.set(COMMIT_MAGIC, 0);
  v.setBigUint64(8, BigInt(r.generation), true);
  v.setUint32(16, r.pageCount, true);
  v.setUint32(20, r.blocks, true);
  v.setUint32(24, r.copy, true);
  v.setUint32(28, crc32c(out.subarray(0, 28)), true);
  return out;
}

export function decodeCommit(block: Uint8Array): CommitRecord | undefined {
  if (!hasMagic(block, COMMIT_MAGIC) || block.length < 32) return undefined;
  const v = view(block);
  if (v.getUint32(28, true) !== crc32c(block.subarray(0, 28))) return undefined;
  const copy = v.getUint32(24, true);
  if (copy !== 0 && copy !== 1) return undefined;
  return {
    generation: Number(v.getBigUint64(8, true)),
    pageCount: v.getUint32(16, true),
    blocks: v.getUint32(20, true),
    copy,
  };
}

export function encodeExtentHeader(h: ExtentHeader, out: Uint8Array): void {
  invariant(h.owner.length === OWNER_BYTES, 'extent owner is 16 bytes');
  invariant(out.length >= EXTENT_HEADER_BYTES, 'extent header room');
  const v = view(out);
  out.fill(0, 0, EXTENT_HEADER_BYTES);
  out.set(EXTENT_MAGIC, 0);
  v.setUint32(8, h.start, true);
  v.setUint32(12, h.count, true);
  v.setUint32(16, h.payloadBytes, true);
  v.setUint32(20, h.payloadCrc32c >>> 0, true);
  out.set(h.owner, 28);
  v.setUint32(60, crc32c(out.subarray(0, 60)), true);
}

/** The extent header at the start of `bytes`, or undefined when there is none (or it is damaged). */
export function decodeExtentHeader(bytes: Uint8Array): ExtentHeader | undefined {
  if (!hasMagic(bytes, EXTENT_MAGIC) || bytes.length < EXTENT_HEADER_BYTES) return undefined;
  const v = view(bytes);
  if (v.getUint32(60, true) !== crc32c(bytes.subarray(0, 60))) return undefined;
  return {
    start: v.getUint32(8, true),
    count: v.getUint32(12, true),
    payloadBytes: v.getUint32(16, true),
    payloadCrc32c: v.getUint32(20, true),
    owner: Uint8Array.from(bytes.subarray(28, 28 + OWNER_BYTES)),
  };
}
