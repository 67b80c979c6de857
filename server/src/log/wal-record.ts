/**
 * WAL record format, version 1. This is the only place the on-disk bytes are defined; the golden
 * fixture `fixtures/wal-record-v1.hex` pins them, so changing anything here is a deliberate,
 * reviewed format change (add a v2 with a new magic, never edit v1 in place).
 *
 * Every integer is little-endian. One record:
 *
 * | offset | size | field   | meaning                                                          |
 * |-------:|-----:|---------|------------------------------------------------------------------|
 * |      0 |    4 | magic   | ASCII 'K' 'W' 'L' '1' = 4b 57 4c 31 (u32 LE 0x314c574b)          |
 * |      4 |    4 | length  | u32, payload byte count (0 ≤ length ≤ record_bytes_max)          |
 * |      8 |    4 | crc     | u32, CRC-32C (Castagnoli) of bytes [12, 28 + length): seq..end   |
 * |     12 |    8 | seq     | u64, position in the shard's total order, dense from 1 (I-L1)    |
 * |     20 |    8 | term    | u64, Raft term that wrote the record (0 for a single replica)     |
 * |     28 |  len | payload | opaque delta bytes (a delta envelope, I-L7)                       |
 *
 * Records are packed back to back with no padding; a segment file is a sequence of records. The
 * CRC does not cover magic or length: a damaged length shows up as a short record or a CRC
 * mismatch of the bytes it claims. seq and term must fit in a JavaScript safe integer (2^53 − 1);
 * a stored value above that is treated as corruption.
 */

import { crc32c } from '@kiseki/native';

/** Bytes before the payload. */
export const WAL_RECORD_HEADER_BYTES = 28;
/** 'KWL1' read as a little-endian u32. */
export const WAL_RECORD_MAGIC_V1 = 0x314c574b;
/** The magic as bytes, for searching. */
export const WAL_RECORD_MAGIC_V1_BYTES: Uint8Array = Uint8Array.of(0x4b, 0x57, 0x4c, 0x31);
/** The format's hard ceiling for `length` (u32). Configured limits must stay below it. */
export const WAL_RECORD_PAYLOAD_BYTES_LIMIT = 0xffff_ffff;

const OFF_MAGIC = 0;
const OFF_LENGTH = 4;
const OFF_CRC = 8;
const OFF_SEQ = 12;
const OFF_TERM = 20;
const TWO_32 = 0x1_0000_0000;

/** A fully decoded record header (payload left in place). */
export interface WalRecordHeader {
  readonly seq: number;
  readonly term: number;
  readonly payloadLength: number;
  /** Header plus payload: the distance to the next record. */
  readonly size: number;
}

/** Why bytes at an offset are not a valid record. */
export type WalRecordDefect = 'short-header' | 'bad-magic' | 'short-record' | 'bad-crc' | 'bad-u64';

export type WalRecordParse =
  | ({ readonly ok: true } & WalRecordHeader)
  | { readonly ok: false; readonly defect: WalRecordDefect };

/** Encoded size of a record with this payload. */
export function walRecordSize(payloadLength: number): number {
  return WAL_RECORD_HEADER_BYTES + payloadLength;
}

function writeU64(buf: Buffer, off: number, v: number): void {
  buf.writeUInt32LE(v % TWO_32, off);
  buf.writeUInt32LE(Math.floor(v / TWO_32), off + 4);
}

function readU64(buf: Buffer, off: number): number | undefined {
  const lo = buf.readUInt32LE(off);
  const hi = buf.readUInt32LE(off + 4);
  if (hi > 0x1f_ffff) return undefined; // above 2^53 - 1
  return hi * TWO_32 + lo;
}

/**
 * Encode `payloads` as consecutive records with seqs `firstSeq, firstSeq + 1, …` into `out`
 * starting at `offset` (`out` must have room: sum of walRecordSize). Returns the offset after the
 * last record. Asserts its inputs: a bad seq or term here is a bug in the caller, not user input.
 */
export function encodeWalRecords(
  out: Buffer,
  offset: number,
  firstSeq: number,
  term: number,
  payloads: readonly Uint8Array[],
): number {
  if (!Number.isSafeInteger(firstSeq) || firstSeq < 1) throw new RangeError(`bad seq ${firstSeq}`);
  if (!Number.isSafeInteger(term) || term < 0) throw new RangeError(`bad term ${term}`);
  let off = offset;
  let seq = firstSeq;
  for (const p of payloads) {
    if (p.length > WAL_RECORD_PAYLOAD_BYTES_LIMIT) throw new RangeError(`payload of ${p.length} bytes`);
    out.writeUInt32LE(WAL_RECORD_MAGIC_V1, off + OFF_MAGIC);
    out.writeUInt32LE(p.length, off + OFF_LENGTH);
    writeU64(out, off + OFF_SEQ, seq);
    writeU64(out, off + OFF_TERM, term);
    out.set(p, off + WAL_RECORD_HEADER_BYTES);
    const end = off + WAL_RECORD_HEADER_BYTES + p.length;
    out.writeUInt32LE(crc32c(out.subarray(off + OFF_SEQ, end)), off + OFF_CRC);
    off = end;
    seq++;
  }
  return off;
}

/** Encode one record into a fresh buffer. */
export function encodeWalRecord(seq: number, term: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(walRecordSize(payload.length));
  encodeWalRecords(out, 0, seq, term, [payload]);
  return out;
}

/**
 * Parse and verify the record starting at `buf[off]`, using bytes up to `end` (exclusive). Checks
 * magic, that the payload fits, the CRC, and that seq/term are safe integers. Does not check the
 * seq against an expected value: callers do that.
 */
export function parseWalRecord(buf: Buffer, off: number, end: number = buf.length): WalRecordParse {
  if (end - off < WAL_RECORD_HEADER_BYTES) return { ok: false, defect: 'short-header' };
  if (buf.readUInt32LE(off + OFF_MAGIC) !== WAL_RECORD_MAGIC_V1) return { ok: false, defect: 'bad-magic' };
  const payloadLength = buf.readUInt32LE(off + OFF_LENGTH);
  const size = WAL_RECORD_HEADER_BYTES + payloadLength;
  if (end - off < size) return { ok: false, defect: 'short-record' };
  const crc = buf.readUInt32LE(off + OFF_CRC);
  if (crc32c(buf.subarray(off + OFF_SEQ, off + size)) !== crc) return { ok: false, defect: 'bad-crc' };
  const seq = readU64(buf, off + OFF_SEQ);
  const term = readU64(buf, off + OFF_TERM);
  if (seq === undefined || term === undefined || seq < 1) return { ok: false, defect: 'bad-u64' };
  return { ok: true, seq, term, payloadLength, size };
}

/** Peek at the length field only (no verification); for sizing reads. */
export function peekWalRecordSize(buf: Buffer, off: number): number {
  return WAL_RECORD_HEADER_BYTES + buf.readUInt32LE(off + OFF_LENGTH);
}
