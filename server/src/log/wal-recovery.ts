/**
 * WAL recovery: scan a shard's segment files in order at open, rebuild the seq → (segment,
 * offset) index, verify every record's CRC, and decide what a bad record means.
 *
 * - A torn tail — the end of the LAST segment holds a short header, a short record, bad magic, a
 *   bad CRC or zero fill, and no valid record follows it — is an append that never completed, so
 *   it was never acknowledged (acks wait for fdatasync, I-L2). It is cut off and reported.
 * - Anything else — a bad record followed by a valid one, a CRC-valid record with the wrong seq or
 *   a lower term, a gap between segments, damage in a non-last segment — means acknowledged data
 *   was lost or altered. Open fails with KISEKI_E_CORRUPT naming the file and offset, unless
 *   `repair` is set, in which case the log is cut there (later segments deleted) and reported.
 */

import type { FileHandle } from 'node:fs/promises';
import { open, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { KisekiError, type Seq } from '@kiseki/proto';
import { fsyncDir } from './durable-fs.ts';
import {
  parseWalRecord,
  peekWalRecordSize,
  WAL_RECORD_HEADER_BYTES,
  WAL_RECORD_MAGIC_V1_BYTES,
  type WalRecordDefect,
} from './wal-record.ts';

/** Segment files are named by their first seq, zero-padded to 20 digits (fits any u64). */
const SEGMENT_NAME_RE = /^(\d{20})\.wal$/;
/** Bytes read per I/O while scanning. */
const SCAN_WINDOW_BYTES = 1 << 20;

export function segmentFileName(firstSeq: number): string {
  return `${String(firstSeq).padStart(20, '0')}.wal`;
}

/** What recovery found where the valid log ends. */
export type WalRecoveryReason =
  | 'clean'
  | WalRecordDefect
  | 'zero-fill'
  | 'seq-mismatch'
  | 'term-regression'
  | 'segment-gap'
  | 'bad-segment-name';

/**
 * The report of `Wal.open`. On a clean open `reason` is 'clean' and `truncatedBytes` is 0. The
 * server should log every non-clean report, e.g. with `formatWalRecovery`.
 */
export interface WalRecoveryReport {
  /** 'torn-tail': an unacknowledged append was cut; 'repaired': real corruption cut by `repair`. */
  readonly outcome: 'clean' | 'torn-tail' | 'repaired';
  readonly reason: WalRecoveryReason;
  /** Bytes removed from the log, including whole segments deleted by a repair. */
  readonly truncatedBytes: number;
  /** Last seq kept (0 when the log is empty). */
  readonly lastSeq: Seq;
  /** Segment file where the cut happened, and the byte offset in it. */
  readonly file?: string;
  readonly offset?: number;
  /** Whole segment files deleted by a repair. */
  readonly segmentsRemoved: number;
}

/** One-line text for the server log. */
export function formatWalRecovery(r: WalRecoveryReport): string {
  if (r.outcome === 'clean') return `WAL opened cleanly at seq ${r.lastSeq}`;
  const what = r.outcome === 'torn-tail' ? 'torn tail' : 'corrupt log (repair)';
  const removed = r.segmentsRemoved > 0 ? ` and ${r.segmentsRemoved} later segment(s)` : '';
  return `recovered WAL: dropped ${r.truncatedBytes} bytes of ${what} after seq ${r.lastSeq} (${r.reason} at ${r.file}:${r.offset}${removed})`;
}

/** A segment as rebuilt by recovery: `offsets[i]` is where record `firstSeq + i` starts. */
export interface RecoveredSegment {
  readonly firstSeq: number;
  readonly path: string;
  readonly offsets: number[];
  /** Bytes of valid records (the file size after any cut). */
  size: number;
}

export interface RecoveredWal {
  readonly segments: RecoveredSegment[];
  /** Term of the last record (0 when empty). */
  readonly lastTerm: number;
  readonly report: WalRecoveryReport;
}

const TORN_REASONS: ReadonlySet<WalRecoveryReason> = new Set<WalRecoveryReason>([
  'short-header',
  'short-record',
  'bad-magic',
  'bad-crc',
  'zero-fill',
]);

/** Reads a file through a window buffer so a scan does one read per MiB, not per record. */
class WindowReader {
  #buf = Buffer.alloc(0);
  #pos = 0;
  #len = 0;
  constructor(
    private readonly fh: FileHandle,
    readonly fileBytes: number,
  ) {}

  /** Bytes [pos, pos + len) clipped to the file end, as (buffer, offset, available). */
  async at(pos: number, len: number): Promise<{ buf: Buffer; off: number; avail: number }> {
    const want = Math.max(0, Math.min(len, this.fileBytes - pos));
    if (pos >= this.#pos && pos + want <= this.#pos + this.#len) {
      return { buf: this.#buf, off: pos - this.#pos, avail: want };
    }
    const read = Math.min(Math.max(want, SCAN_WINDOW_BYTES), this.fileBytes - pos);
    if (this.#buf.length < read) this.#buf = Buffer.allocUnsafe(read);
    let got = 0;
    while (got < read) {
      const { bytesRead } = await this.fh.read(this.#buf, got, read - got, pos + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    this.#pos = pos;
    this.#len = got;
    return { buf: this.#buf, off: 0, avail: Math.min(want, got) };
  }
}

interface ScanDefect {
  readonly offset: number;
  readonly reason: WalRecoveryReason;
}

interface SegmentScan {
  readonly offsets: number[];
  readonly validBytes: number;
  readonly lastTerm: number;
  readonly defect?: ScanDefect;
}

async function scanSegment(r: WindowReader, firstSeq: number, prevTerm: number): Promise<SegmentScan> {
  const offsets: number[] = [];
  let off = 0;
  let term = prevTerm;
  while (off < r.fileBytes) {
    let w = await r.at(off, WAL_RECORD_HEADER_BYTES);
    if (w.avail >= WAL_RECORD_HEADER_BYTES) w = await r.at(off, peekWalRecordSize(w.buf, w.off));
    const p = parseWalRecord(w.buf, w.off, w.off + w.avail);
    const stop = (reason: WalRecoveryReason): SegmentScan => ({
      offsets,
      validBytes: off,
      lastTerm: term,
      defect: { offset: off, reason },
    });
    if (!p.ok) return stop((await allZero(r, off)) ? 'zero-fill' : p.defect);
    if (p.seq !== firstSeq + offsets.length) return stop('seq-mismatch');
    if (p.term < term) return stop('term-regression');
    offsets.push(off);
    term = p.term;
    off += p.size;
  }
  return { offsets, validBytes: off, lastTerm: term };
}

async function allZero(r: WindowReader, from: number): Promise<boolean> {
  for (let pos = from; pos < r.fileBytes; ) {
    const w = await r.at(pos, SCAN_WINDOW_BYTES);
    for (let i = w.off; i < w.off + w.avail; i++) if (w.buf[i] !== 0) return false;
    pos += w.avail;
  }
  return true;
}

/** Is there a CRC-valid record with seq ≥ minSeq starting anywhere in [from, end of file)? */
async function validRecordAfter(r: WindowReader, from: number, minSeq: number): Promise<number | undefined> {
  let pos = from;
  while (pos + WAL_RECORD_HEADER_BYTES <= r.fileBytes) {
    const w = await r.at(pos, SCAN_WINDOW_BYTES);
    const idx = w.buf.subarray(w.off, w.off + w.avail).indexOf(WAL_RECORD_MAGIC_V1_BYTES);
    if (idx < 0) {
      if (w.avail <= 3) return undefined;
      pos += w.avail - 3; // the magic may straddle windows
      continue;
    }
    const at = pos + idx;
    let h = await r.at(at, WAL_RECORD_HEADER_BYTES);
    if (h.avail >= WAL_RECORD_HEADER_BYTES) h = await r.at(at, peekWalRecordSize(h.buf, h.off));
    const p = parseWalRecord(h.buf, h.off, h.off + h.avail);
    if (p.ok && p.seq >= minSeq) return at;
    pos = at + 1;
  }
  return undefined;
}

function corrupt(file: string, offset: number, what: string): KisekiError {
  return new KisekiError(
    'KISEKI_E_CORRUPT',
    `WAL corrupt: ${what} in ${file} at byte offset ${offset}. Acknowledged records may be damaged; ` +
      'restore the shard from a replica, or reopen with repair to cut the log at this point (losing what follows).',
  );
}

function describe(reason: WalRecoveryReason, validAfter: number | undefined): string {
  const why: Record<WalRecoveryReason, string> = {
    clean: 'no defect',
    'short-header': 'truncated record header',
    'short-record': 'record extends past end of file',
    'bad-magic': 'bad record magic',
    'bad-crc': 'record CRC mismatch',
    'bad-u64': 'seq or term out of range',
    'zero-fill': 'zero-filled space',
    'seq-mismatch': 'record seq out of order (gap or duplicate)',
    'term-regression': 'record term lower than the previous record',
    'segment-gap': 'segment does not start at the seq after the previous segment',
    'bad-segment-name': 'segment named with seq 0',
  };
  return validAfter === undefined
    ? why[reason]
    : `${why[reason]} followed by a valid record at ${validAfter}`;
}

/**
 * Scan, verify and (for a torn tail, or with `repair`) cut the WAL in `dir`. Returns the segments
 * in seq order with their indexes. Makes every cut durable (file sync + directory sync) before
 * returning.
 */
export async function recoverWal(dir: string, opts: { repair: boolean }): Promise<RecoveredWal> {
  const names = (await readdir(dir)).filter((n) => SEGMENT_NAME_RE.test(n)).sort();
  const segments: RecoveredSegment[] = [];
  let lastTerm = 0;
  let nextSeq: number | undefined;
  const lastSeqNow = (): Seq => (nextSeq === undefined ? 0 : nextSeq - 1) as Seq;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const path = join(dir, name);
    const firstSeq = Number(SEGMENT_NAME_RE.exec(name)![1]);
    const isLast = i === names.length - 1;
    let nameDefect: WalRecoveryReason | undefined;
    if (!Number.isSafeInteger(firstSeq) || firstSeq < 1) nameDefect = 'bad-segment-name';
    else if (nextSeq !== undefined && firstSeq !== nextSeq) nameDefect = 'segment-gap';
    if (nameDefect !== undefined) {
      if (!opts.repair) throw corrupt(path, 0, describe(nameDefect, undefined));
      // Nothing in a misplaced segment can be put in the log: drop it and everything after it.
      const cut = await removeSegments(dir, names, i);
      await fsyncDir(dir);
      const report: WalRecoveryReport = {
        outcome: 'repaired',
        reason: nameDefect,
        truncatedBytes: cut.bytes,
        lastSeq: lastSeqNow(),
        file: path,
        offset: 0,
        segmentsRemoved: cut.count,
      };
      return { segments, lastTerm, report };
    }

    const fh = await open(path, 'r');
    let scan: SegmentScan;
    let fileBytes: number;
    let torn = false;
    try {
      fileBytes = (await fh.stat()).size;
      const r = new WindowReader(fh, fileBytes);
      scan = await scanSegment(r, firstSeq, lastTerm);
      const defect = scan.defect;
      if (defect !== undefined) {
        let validAfter: number | undefined;
        if (TORN_REASONS.has(defect.reason)) {
          validAfter = await validRecordAfter(r, defect.offset + 1, firstSeq + scan.offsets.length);
        }
        torn = isLast && TORN_REASONS.has(defect.reason) && validAfter === undefined;
        if (!torn && !opts.repair) throw corrupt(path, defect.offset, describe(defect.reason, validAfter));
      }
    } finally {
      await fh.close();
    }
    segments.push({ firstSeq, path, offsets: scan.offsets, size: scan.validBytes });
    lastTerm = scan.lastTerm;
    nextSeq = firstSeq + scan.offsets.length;
    const defect = scan.defect;
    if (defect === undefined) continue;

    // Cut the log at the defect: later segments first (newest first, so a crash midway leaves a
    // contiguous log), then this segment's tail.
    const later = await removeSegments(dir, names, i + 1);
    const wh = await open(path, 'r+');
    try {
      await wh.truncate(scan.validBytes);
      await wh.sync();
    } finally {
      await wh.close();
    }
    await fsyncDir(dir);
    const report: WalRecoveryReport = {
      outcome: torn ? 'torn-tail' : 'repaired',
      reason: defect.reason,
      truncatedBytes: later.bytes + (fileBytes - scan.validBytes),
      lastSeq: lastSeqNow(),
      file: path,
      offset: defect.offset,
      segmentsRemoved: later.count,
    };
    return { segments, lastTerm, report };
  }
  const report: WalRecoveryReport = {
    outcome: 'clean',
    reason: 'clean',
    truncatedBytes: 0,
    lastSeq: lastSeqNow(),
    segmentsRemoved: 0,
  };
  return { segments, lastTerm, report };
}

/** Delete segment files names[from..], newest first. Returns how many and their total bytes. */
async function removeSegments(
  dir: string,
  names: readonly string[],
  from: number,
): Promise<{ count: number; bytes: number }> {
  let bytes = 0;
  let count = 0;
  for (let j = names.length - 1; j >= from; j--) {
    const p = join(dir, names[j]!);
    bytes += (await stat(p)).size;
    await unlink(p);
    count++;
  }
  return { count, bytes };
}
