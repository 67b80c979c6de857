/**
 * A segmented, append-only write-ahead log for ONE shard, in one directory.
 *
 * Files: `<dir>/<20-digit first seq>.wal`, each a sequence of v1 records (wal-record.ts). A new
 * segment starts when the next record would push the active one past `segment_bytes_max`.
 *
 * Durability (I-L2): `append` resolves only after its records are written and fdatasync'd, and,
 * when a batch opened a new segment, after the directory is fsync'd too. Appends that arrive while
 * a sync is in flight wait and go out together in the next write + fdatasync (group commit).
 * With `sync_each_batch: false` (a log rebuilt from another durable one) a batch is acknowledged
 * once written, and `sync()` makes it durable.
 *
 * Order (I-L1): seqs are dense from 1 and assigned in admission order; a batch is written in seq
 * order; an append's records are contiguous.
 *
 * Failure: if a write, fdatasync or truncation fails, the page cache and the disk may disagree
 * (fsync errors are not retryable), so the WAL fails closed: every pending and later append
 * rejects with KISEKI_E_UNAVAILABLE; committed records stay readable. Reopen to recover.
 *
 * Concurrency: one process per directory (not enforced by a lock file). Within the process, the
 * single writer task holds `#ops` while it writes; truncations hold `#ops` and `#reads`
 * exclusively; disk reads hold `#reads` shared.
 */

import { type FileHandle, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { AssertionError, invariant, KisekiError, type Seq } from '@kiseki/proto';
import { fsyncDir, mkdirDurable } from './durable-fs.ts';
import { RwLock } from './rw-lock.ts';
import { TailCache } from './tail-cache.ts';
import {
  encodeWalRecords,
  parseWalRecord,
  WAL_RECORD_HEADER_BYTES,
  WAL_RECORD_PAYLOAD_BYTES_LIMIT,
  walRecordSize,
} from './wal-record.ts';
import { recoverWal, segmentFileName, type WalRecoveryReport } from './wal-recovery.ts';

const MiB = 1024 * 1024;
/** writev takes at most this many buffers per syscall (IOV_MAX); larger batches are concatenated. */
const IOV_MAX = 1024;

export interface WalOptions {
  /** Roll to a new segment before a record would push the active one past this. Default 64 MiB. */
  segment_bytes_max?: number;
  /** Largest payload accepted by `append`; beyond it KISEKI_E_INVAL. Default 16 MiB. */
  record_bytes_max?: number;
  /**
   * Encoded bytes admitted but not yet durable. Beyond it `append` waits (backpressure); one
   * append larger than this is KISEKI_E_INVAL. Default 64 MiB; at least record_bytes_max + 28.
   */
  pending_bytes_max?: number;
  /** Payload bytes of recent committed records served from memory. Default 8 MiB; 0 disables. */
  tail_cache_bytes_max?: number;
  /** Default `maxBytes` for `read`. Default 4 MiB. */
  read_bytes_max?: number;
  /**
   * Cut the log at the first defect that is not a torn tail instead of failing open with
   * KISEKI_E_CORRUPT. Loses every record after the defect. Default false.
   */
  repair?: boolean;
  /**
   * false: a batch is acknowledged (and readable) once written to the page cache, without an
   * fdatasync; `sync()` makes everything written durable, and `close()` syncs. Only for a log
   * that can be rebuilt from another durable one (a Raft shard's applied log, rebuilt from the
   * node's journal). Default true.
   */
  sync_each_batch?: boolean;
  /**
   * Test hook, awaited before every sync; throwing from it simulates an I/O error (e.g. EIO from
   * fdatasync). Production code leaves it unset.
   */
  beforeSync?: (kind: WalSyncKind, path: string) => void | Promise<void>;
}

export type WalSyncKind = 'datasync' | 'fsync' | 'dirsync';

/** Counters for metrics and tests. */
export interface WalStats {
  /** `append` calls admitted. */
  appends: number;
  records: number;
  /** Group-commit batches written. */
  batches: number;
  /** write/writev calls on segment files. */
  writes: number;
  datasyncs: number;
  dirsyncs: number;
  segmentsCreated: number;
  segmentsDeleted: number;
  /** Records served by `read` from memory and from disk. */
  cacheReads: number;
  diskReads: number;
}

/** A committed record as returned by `read`. */
export interface WalEntry {
  readonly seq: Seq;
  readonly term: number;
  /** The caller's own bytes (a copy, or a slice of a buffer read for this call). */
  readonly payload: Uint8Array;
}

interface Segment {
  readonly firstSeq: number;
  readonly path: string;
  /** offsets[i] is the byte offset of record firstSeq + i. */
  readonly offsets: number[];
  /** Bytes written (including records of an in-flight batch once its write returned). */
  size: number;
  /** Writer handle; only the active (last) segment has one. */
  fh: FileHandle | undefined;
}

/** An admitted append: seqs assigned, records encoded, waiting to be written. */
interface Admitted {
  readonly firstSeq: number;
  readonly term: number;
  readonly buf: Buffer;
  /** Start of each record in buf. */
  readonly starts: number[];
  readonly resolve: (seqs: Seq[]) => void;
  readonly reject: (err: unknown) => void;
}

/** An append waiting for room under pending_bytes_max. */
interface Waiting {
  readonly bytes: number;
  readonly payloads: readonly Uint8Array[];
  readonly term: number | undefined;
  readonly resolve: (seqs: Seq[]) => void;
  readonly reject: (err: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: (() => void) | undefined;
}

interface Limits {
  readonly segment_bytes_max: number;
  readonly record_bytes_max: number;
  readonly pending_bytes_max: number;
  readonly tail_cache_bytes_max: number;
  readonly read_bytes_max: number;
}

function limitsOf(opts: WalOptions): Limits {
  const l: Limits = {
    segment_bytes_max: opts.segment_bytes_max ?? 64 * MiB,
    record_bytes_max: opts.record_bytes_max ?? 16 * MiB,
    pending_bytes_max: opts.pending_bytes_max ?? 64 * MiB,
    tail_cache_bytes_max: opts.tail_cache_bytes_max ?? 8 * MiB,
    read_bytes_max: opts.read_bytes_max ?? 4 * MiB,
  };
  for (const [k, v] of Object.entries(l)) {
    if (!Number.isSafeInteger(v) || v < 0)
      throw new KisekiError('KISEKI_E_INVAL', `WAL option ${k}=${v}: use a byte count`);
  }
  if (l.segment_bytes_max < 1 || l.read_bytes_max < 1) {
    throw new KisekiError(
      'KISEKI_E_INVAL',
      'WAL options segment_bytes_max and read_bytes_max must be positive',
    );
  }
  if (l.record_bytes_max > WAL_RECORD_PAYLOAD_BYTES_LIMIT) {
    throw new KisekiError(
      'KISEKI_E_INVAL',
      `WAL option record_bytes_max above the format limit ${WAL_RECORD_PAYLOAD_BYTES_LIMIT}`,
    );
  }
  if (l.pending_bytes_max < walRecordSize(l.record_bytes_max)) {
    throw new KisekiError(
      'KISEKI_E_INVAL',
      'WAL option pending_bytes_max must hold one record of record_bytes_max',
    );
  }
  return l;
}

function checkSeq(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new KisekiError('KISEKI_E_INVAL', `${name}=${v}: a seq is a non-negative integer`);
  }
}

export class Wal {
  readonly dir: string;
  /** What recovery found and cut at open; log it when `outcome` is not 'clean'. */
  readonly recovery: WalRecoveryReport;
  readonly stats: WalStats = {
    appends: 0,
    records: 0,
    batches: 0,
    writes: 0,
    datasyncs: 0,
    dirsyncs: 0,
    segmentsCreated: 0,
    segmentsDeleted: 0,
    cacheReads: 0,
    diskReads: 0,
  };

  readonly #limits: Limits;
  readonly #beforeSync: WalOptions['beforeSync'];
  readonly #syncEach: boolean;
  /** sync_each_batch false: segments written since the last sync, and whether the directory changed. */
  readonly #unsynced = new Set<Segment>();
  #dirDirty = false;
  readonly #segments: Segment[];
  readonly #cache: TailCache;
  readonly #ops = new RwLock();
  readonly #reads = new RwLock();

  /** Next seq to assign. */
  #nextSeq: number;
  /** Term of the last assigned record. */
  #assignedTerm: number;
  /** Highest seq written and synced. */
  #durableSeq: number;
  /** Encoded bytes admitted and not yet durable. */
  #pendingBytes = 0;
  #admitted: Admitted[] = [];
  readonly #waiting: Waiting[] = [];
  #writing = false;
  /** Appends cannot be admitted while a suffix truncation runs. */
  #suspended = 0;
  #closing = false;
  #closePromise: Promise<void> | undefined;
  #closed = false;
  #failed: Error | undefined;
  #idleWaiters: (() => void)[] = [];
  #commitWaiters = new Set<() => void>();

  private constructor(
    dir: string,
    limits: Limits,
    opts: WalOptions,
    segments: Segment[],
    lastTerm: number,
    recovery: WalRecoveryReport,
  ) {
    this.dir = dir;
    this.#limits = limits;
    this.#beforeSync = opts.beforeSync;
    this.#syncEach = opts.sync_each_batch !== false;
    this.#segments = segments;
    this.#cache = new TailCache(limits.tail_cache_bytes_max);
    this.recovery = recovery;
    const last = segments[segments.length - 1]!;
    this.#nextSeq = last.firstSeq + last.offsets.length;
    this.#durableSeq = this.#nextSeq - 1;
    this.#assignedTerm = lastTerm;
  }

  /**
   * Open (creating if needed) the WAL in `dir`: recover, rebuild the index, open the active
   * segment for writing. Torn tails are cut and reported in `recovery`; other corruption rejects
   * with KISEKI_E_CORRUPT unless `opts.repair`. See WalOptions for options and defaults.
   */
  static async open(dir: string, opts: WalOptions = {}): Promise<Wal> {
    const limits = limitsOf(opts);
    await mkdirDurable(dir);
    const rec = await recoverWal(dir, { repair: opts.repair === true });
    const segments: Segment[] = rec.segments.map((s) => ({ ...s, fh: undefined }));
    if (segments.length === 0) {
      const firstSeq = rec.report.lastSeq + 1;
      const path = join(dir, segmentFileName(firstSeq));
      const fh = await open(path, 'wx+');
      segments.push({ firstSeq, path, offsets: [], size: 0, fh });
      await opts.beforeSync?.('dirsync', dir);
      await fsyncDir(dir);
    } else {
      const last = segments[segments.length - 1]!;
      last.fh = await open(last.path, 'r+');
    }
    return new Wal(dir, limits, opts, segments, rec.lastTerm, rec.report);
  }

  /** First seq still in the log (compaction moves it up). lastSeq + 1 when the log is empty. */
  get firstSeq(): Seq {
    return this.#segments[0]!.firstSeq as Seq;
  }

  /** Highest committed (durable) seq; 0 when nothing was ever appended. */
  get lastSeq(): Seq {
    return this.#durableSeq as Seq;
  }

  /** Term of the last assigned record (0 when empty or unknown after full compaction). */
  get lastTerm(): number {
    return this.#assignedTerm;
  }

  /** Number of segment files. */
  get segmentCount(): number {
    return this.#segments.length;
  }

  /**
   * Append `payloads` as consecutive records of `term` (default: the last record's term; terms
   * never decrease). Resolves with their seqs once they are durable (I-L2).
   *
   * Payload bytes are copied when the append is admitted, which may be after a wait; do not
   * modify them until the promise settles. Waits while more than `pending_bytes_max` is in
   * flight; `signal` aborts that wait (rejecting with `signal.reason`, nothing written). Once
   * admitted the append finishes regardless of the signal. Errors: KISEKI_E_INVAL (payload over
   * record_bytes_max, batch over pending_bytes_max, term below the last), KISEKI_E_UNAVAILABLE
   * (closed, or a write failed).
   */
  append(payloads: readonly Uint8Array[], term?: number, signal?: AbortSignal): Promise<Seq[]> {
    try {
      this.#checkWritable();
      signal?.throwIfAborted();
      let bytes = 0;
      for (const p of payloads) {
        if (!(p instanceof Uint8Array))
          throw new KisekiError('KISEKI_E_INVAL', 'WAL payloads must be Uint8Array');
        if (p.length > this.#limits.record_bytes_max) {
          throw new KisekiError(
            'KISEKI_E_INVAL',
            `WAL record payload of ${p.length} bytes exceeds record_bytes_max (${this.#limits.record_bytes_max})`,
          );
        }
        bytes += walRecordSize(p.length);
      }
      if (bytes > this.#limits.pending_bytes_max) {
        throw new KisekiError(
          'KISEKI_E_INVAL',
          `WAL append of ${bytes} bytes exceeds pending_bytes_max (${this.#limits.pending_bytes_max}); split it`,
        );
      }
      if (term !== undefined) this.#checkTerm(term);
      if (payloads.length === 0) return Promise.resolve([]);
      return new Promise<Seq[]>((resolve, reject) => {
        if (this.#waiting.length === 0 && this.#suspended === 0 && this.#fits(bytes)) {
          this.#admit(bytes, payloads, term, resolve, reject);
          return;
        }
        let onAbort: (() => void) | undefined;
        if (signal !== undefined) {
          onAbort = () => {
            const i = this.#waiting.indexOf(w);
            if (i >= 0) this.#waiting.splice(i, 1);
            reject(signal.reason);
            this.#admitWaiting(); // a large head leaving may unblock smaller ones
          };
          signal.addEventListener('abort', onAbort, { once: true });
        }
        const w: Waiting = { bytes, payloads, term, resolve, reject, signal, onAbort };
        this.#waiting.push(w);
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Committed records with seq in [fromSeq, toSeq] (toSeq is clamped to lastSeq), whose payloads
   * total at most `maxBytes` (default read_bytes_max) — but always at least one record when the
   * range is not empty. Served from the tail cache when possible, else from the segment files
   * with every record's CRC, seq and length checked again (KISEKI_E_CORRUPT on mismatch).
   * KISEKI_E_NOENT when fromSeq was compacted away (fromSeq < firstSeq).
   */
  async read(fromSeq: Seq, toSeq: Seq, maxBytes: number = this.#limits.read_bytes_max): Promise<WalEntry[]> {
    checkSeq('fromSeq', fromSeq);
    checkSeq('toSeq', toSeq);
    if (fromSeq < 1) throw new KisekiError('KISEKI_E_INVAL', 'WAL seqs start at 1');
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
      throw new KisekiError('KISEKI_E_INVAL', `maxBytes=${maxBytes}: use a byte count`);
    }
    if (this.#closed) throw new KisekiError('KISEKI_E_UNAVAILABLE', `WAL ${this.dir} is closed`);
    const cached = this.#readCache(fromSeq, toSeq, maxBytes);
    if (cached !== undefined) return cached;
    return this.#reads.shared(async () => {
      if (this.#closed) throw new KisekiError('KISEKI_E_UNAVAILABLE', `WAL ${this.dir} is closed`);
      return this.#readLocked(fromSeq, toSeq, maxBytes);
    });
  }

  /**
   * Resolves once lastSeq ≥ seq. Rejects with `signal.reason` on abort, and with
   * KISEKI_E_UNAVAILABLE when the WAL closes or fails first.
   */
  waitForSeq(seq: number, signal?: AbortSignal): Promise<void> {
    if (this.#durableSeq >= seq) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (this.#durableSeq >= seq) done(resolve);
        else if (this.#closed || this.#failed !== undefined) {
          done(() =>
            reject(this.#failed ?? new KisekiError('KISEKI_E_UNAVAILABLE', `WAL ${this.dir} is closed`)),
          );
        }
      };
      const onAbort = (): void => done(() => reject(signal!.reason));
      const done = (then: () => void): void => {
        this.#commitWaiters.delete(check);
        signal?.removeEventListener('abort', onAbort);
        then();
      };
      if (signal?.aborted) return reject(signal.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#commitWaiters.add(check);
      check();
    });
  }

  /**
   * Log compaction: delete every segment whose records are all ≤ uptoSeq, oldest first, then
   * fsync the directory. The active segment is never deleted. The caller guarantees every
   * consumer has passed uptoSeq (I-L4). Resolves with the highest seq no longer in the log
   * (firstSeq − 1), which may be below uptoSeq.
   */
  async truncatePrefix(uptoSeq: Seq): Promise<Seq> {
    checkSeq('uptoSeq', uptoSeq);
    this.#checkWritable();
    if (uptoSeq > this.#durableSeq) {
      throw new KisekiError(
        'KISEKI_E_INVAL',
        `cannot compact to ${uptoSeq}: only ${this.#durableSeq} is committed`,
      );
    }
    return this.#ops.exclusive(() =>
      this.#reads.exclusive(async () => {
        this.#checkWritable();
        const removed: Segment[] = [];
        while (this.#segments.length > 1) {
          const s = this.#segments[0]!;
          if (s.firstSeq + s.offsets.length - 1 > uptoSeq) break;
          invariant(s.fh === undefined, 'only the active segment has a writer');
          removed.push(this.#segments.shift()!);
        }
        this.#cache.dropBefore(this.firstSeq);
        if (removed.length > 0) {
          try {
            for (const s of removed) {
              await unlink(s.path);
              this.stats.segmentsDeleted++;
            }
            await this.#dirsync();
          } catch (err) {
            throw this.#fail(err);
          }
        }
        return (this.firstSeq - 1) as Seq;
      }),
    );
  }

  /**
   * Remove every record with seq ≥ fromSeq (Raft log conflict), durably: later segments are
   * deleted newest first, the containing segment is truncated and fsync'd, then the directory.
   * Waits for in-flight appends to finish first and holds new ones until done; the next append
   * gets seq fromSeq. fromSeq must be in [firstSeq, lastSeq + 1] (KISEKI_E_INVAL otherwise).
   */
  async truncateSuffix(fromSeq: Seq): Promise<void> {
    checkSeq('fromSeq', fromSeq);
    this.#checkWritable();
    this.#suspended++;
    try {
      await this.#whenWritesIdle();
      await this.#ops.exclusive(() => this.#reads.exclusive(() => this.#truncateSuffixLocked(fromSeq)));
    } finally {
      this.#suspended--;
      this.#admitWaiting();
    }
  }

  /**
   * Flush: wait for every admitted and waiting append to become durable, then close the files.
   * Later calls to append, read or truncate reject with KISEKI_E_UNAVAILABLE. Idempotent.
   */
  close(): Promise<void> {
    this.#closing = true;
    this.#closePromise ??= this.#close();
    return this.#closePromise;
  }

  async #close(): Promise<void> {
    await this.#whenIdle();
    await this.#ops.exclusive(() =>
      this.#reads.exclusive(async () => {
        if (this.#failed === undefined) await this.#syncWritten();
        this.#closed = true;
        for (const s of this.#segments) {
          const fh = s.fh;
          s.fh = undefined;
          await fh?.close();
        }
        this.#cache.clear();
      }),
    );
    for (const check of [...this.#commitWaiters]) check();
  }

  // ---------------------------------------------------------------- admission

  #checkWritable(): void {
    if (this.#failed !== undefined) throw this.#failed;
    if (this.#closing) throw new KisekiError('KISEKI_E_UNAVAILABLE', `WAL ${this.dir} is closed`);
  }

  #checkTerm(term: number): void {
    if (!Number.isSafeInteger(term) || term < 0) {
      throw new KisekiError('KISEKI_E_INVAL', `term=${term}: a term is a non-negative integer`);
    }
    if (term < this.#assignedTerm) {
      throw new KisekiError(
        'KISEKI_E_INVAL',
        `term ${term} is below the log's last term ${this.#assignedTerm}`,
      );
    }
  }

  #fits(bytes: number): boolean {
    return this.#pendingBytes + bytes <= this.#limits.pending_bytes_max;
  }

  /** Assign seqs, encode, queue for the writer. Synchronous: admission order is seq order. */
  #admit(
    bytes: number,
    payloads: readonly Uint8Array[],
    term: number | undefined,
    resolve: (seqs: Seq[]) => void,
    reject: (err: unknown) => void,
  ): void {
    const t = term ?? this.#assignedTerm;
    try {
      this.#checkTerm(t);
    } catch (err) {
      reject(err);
      return;
    }
    const firstSeq = this.#nextSeq;
    const buf = Buffer.allocUnsafe(bytes);
    const starts: number[] = new Array(payloads.length);
    let off = 0;
    for (let i = 0; i < payloads.length; i++) {
      starts[i] = off;
      off = encodeWalRecords(buf, off, firstSeq + i, t, [payloads[i]!]);
    }
    invariant(off === bytes, 'encoded size matches the admitted size');
    this.#nextSeq += payloads.length;
    this.#assignedTerm = t;
    this.#pendingBytes += bytes;
    this.stats.appends++;
    this.#admitted.push({ firstSeq, term: t, buf, starts, resolve, reject });
    if (!this.#writing) {
      this.#writing = true;
      // Start on a microtask so appends issued in the same tick join the first batch.
      queueMicrotask(() => void this.#writeLoop());
    }
  }

  #admitWaiting(): void {
    while (this.#waiting.length > 0 && this.#suspended === 0 && this.#failed === undefined) {
      const w = this.#waiting[0]!;
      if (!this.#fits(w.bytes)) return;
      this.#waiting.shift();
      if (w.onAbort !== undefined) w.signal?.removeEventListener('abort', w.onAbort);
      this.#admit(w.bytes, w.payloads, w.term, w.resolve, w.reject);
    }
  }

  // ---------------------------------------------------------------- writer

  async #writeLoop(): Promise<void> {
    while (this.#admitted.length > 0 && this.#failed === undefined) {
      const batch = this.#admitted;
      this.#admitted = [];
      try {
        await this.#ops.exclusive(() => this.#writeBatch(batch));
      } catch (err) {
        const e = this.#fail(err);
        for (const a of batch) a.reject(e);
        break;
      }
      this.#commit(batch);
    }
    this.#writing = false;
    this.#notifyIdle();
  }

  /**
   * Write a batch at the end of the log: one writev + fdatasync per segment touched, rolling to
   * a new segment (created, directory fsync'd) at record boundaries.
   */
  async #writeBatch(batch: Admitted[]): Promise<void> {
    const segMax = this.#limits.segment_bytes_max;
    let seg = this.#active();
    let iov: Buffer[] = [];
    let iovBytes = 0;
    let expectSeq = seg.firstSeq + seg.offsets.length;
    for (const a of batch) {
      invariant(a.firstSeq === expectSeq, `batch seq ${a.firstSeq} follows ${expectSeq - 1}`);
      let runStart = 0;
      for (let i = 0; i < a.starts.length; i++) {
        const start = a.starts[i]!;
        const end = a.starts[i + 1] ?? a.buf.length;
        const recBytes = end - start;
        const at = seg.size + iovBytes;
        if (at > 0 && at + recBytes > segMax) {
          if (start > runStart) iov.push(a.buf.subarray(runStart, start));
          await this.#writeOut(seg, iov, at - seg.size);
          seg = await this.#roll(expectSeq);
          iov = [];
          iovBytes = 0;
          runStart = start;
        }
        seg.offsets.push(seg.size + iovBytes);
        iovBytes += recBytes;
        expectSeq++;
      }
      if (a.buf.length > runStart) iov.push(runStart === 0 ? a.buf : a.buf.subarray(runStart));
    }
    await this.#writeOut(seg, iov, iovBytes);
    this.stats.batches++;
  }

  async #writeOut(seg: Segment, iov: Buffer[], bytes: number): Promise<void> {
    if (bytes === 0) return;
    const fh = seg.fh;
    invariant(fh !== undefined, 'writing to the active segment');
    const bufs = iov.length > IOV_MAX ? [Buffer.concat(iov, bytes)] : iov;
    const { bytesWritten } = await fh.writev(bufs, seg.size);
    this.stats.writes++;
    if (bytesWritten !== bytes)
      throw new Error(`short write to ${seg.path}: ${bytesWritten} of ${bytes} bytes`);
    seg.size += bytes;
    if (!this.#syncEach) {
      this.#unsynced.add(seg);
      return;
    }
    await this.#beforeSync?.('datasync', seg.path);
    await fh.datasync();
    this.stats.datasyncs++;
  }

  /**
   * Make every record written so far durable (sync_each_batch false; a no-op otherwise). Waits
   * for the batch being written.
   */
  async sync(): Promise<void> {
    this.#checkWritable();
    await this.#ops.exclusive(() => this.#syncWritten());
  }

  async #syncWritten(): Promise<void> {
    try {
      for (const seg of this.#unsynced) {
        if (seg.fh === undefined) continue; // sealed segments were synced when they were rolled
        await this.#beforeSync?.('datasync', seg.path);
        await seg.fh.datasync();
        this.stats.datasyncs++;
      }
      this.#unsynced.clear();
      if (this.#dirDirty) {
        this.#dirDirty = false;
        await this.#dirsync();
      }
    } catch (err) {
      throw this.#fail(err);
    }
  }

  /** Seal the active segment (already synced) and start a new one at `firstSeq`. */
  async #roll(firstSeq: number): Promise<Segment> {
    const old = this.#active();
    const path = join(this.dir, segmentFileName(firstSeq));
    const fh = await open(path, 'wx+');
    const seg: Segment = { firstSeq, path, offsets: [], size: 0, fh };
    this.#segments.push(seg);
    this.stats.segmentsCreated++;
    const oldFh = old.fh;
    if (!this.#syncEach && this.#unsynced.delete(old)) {
      await this.#beforeSync?.('datasync', old.path);
      await oldFh?.datasync();
      this.stats.datasyncs++;
    }
    old.fh = undefined;
    await oldFh?.close();
    if (this.#syncEach) await this.#dirsync();
    else this.#dirDirty = true;
    return seg;
  }

  async #dirsync(): Promise<void> {
    await this.#beforeSync?.('dirsync', this.dir);
    await fsyncDir(this.dir);
    this.stats.dirsyncs++;
  }

  /** A batch is durable: publish it to readers, then ack. */
  #commit(batch: Admitted[]): void {
    let bytes = 0;
    for (const a of batch) {
      for (let i = 0; i < a.starts.length; i++) {
        const start = a.starts[i]!;
        const end = a.starts[i + 1] ?? a.buf.length;
        this.#cache.push({
          seq: a.firstSeq + i,
          term: a.term,
          payload: a.buf.subarray(start + WAL_RECORD_HEADER_BYTES, end),
        });
      }
      bytes += a.buf.length;
      this.#durableSeq = a.firstSeq + a.starts.length - 1;
      this.stats.records += a.starts.length;
    }
    this.#pendingBytes -= bytes;
    invariant(this.#pendingBytes >= 0, 'pending bytes never go negative');
    for (const a of batch) {
      const seqs: Seq[] = new Array(a.starts.length);
      for (let i = 0; i < seqs.length; i++) seqs[i] = (a.firstSeq + i) as Seq;
      a.resolve(seqs);
    }
    for (const check of [...this.#commitWaiters]) check();
    this.#admitWaiting();
  }

  /** Fail closed: reject everything pending, refuse further writes. Returns the error to use. */
  #fail(err: unknown): Error {
    if (this.#failed === undefined) {
      this.#failed =
        err instanceof AssertionError
          ? err
          : new KisekiError(
              'KISEKI_E_UNAVAILABLE',
              `WAL ${this.dir} failed to write (${(err as Error)?.message ?? String(err)}); ` +
                'committed records stay readable, appends are refused until the shard is reopened',
              { cause: err },
            );
      const e = this.#failed;
      for (const a of this.#admitted) a.reject(e);
      this.#admitted = [];
      for (const w of this.#waiting.splice(0)) {
        if (w.onAbort !== undefined) w.signal?.removeEventListener('abort', w.onAbort);
        w.reject(e);
      }
      this.#pendingBytes = 0;
      for (const check of [...this.#commitWaiters]) check();
      this.#notifyIdle();
    }
    return this.#failed;
  }

  #active(): Segment {
    return this.#segments[this.#segments.length - 1]!;
  }

  // ---------------------------------------------------------------- idle tracking

  #isIdle(writesOnly: boolean): boolean {
    const writes = !this.#writing && this.#admitted.length === 0;
    return writes && (writesOnly || this.#waiting.length === 0);
  }

  #notifyIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Until nothing is admitted or being written (waiting appends may remain). */
  async #whenWritesIdle(): Promise<void> {
    while (!this.#isIdle(true)) await new Promise<void>((r) => this.#idleWaiters.push(r));
  }

  /** Until nothing is waiting, admitted or being written. */
  async #whenIdle(): Promise<void> {
    while (!this.#isIdle(false)) {
      if (this.#failed !== undefined) return;
      await new Promise<void>((r) => this.#idleWaiters.push(r));
    }
  }

  // ---------------------------------------------------------------- reads

  /** The whole answer from the tail cache, or undefined when it needs the disk. */
  #readCache(fromSeq: number, toSeq: number, maxBytes: number): WalEntry[] | undefined {
    const to = Math.min(toSeq, this.#durableSeq);
    if (fromSeq > to) return [];
    if (fromSeq < this.firstSeq) {
      throw new KisekiError(
        'KISEKI_E_NOENT',
        `WAL seq ${fromSeq} was compacted away; the log starts at ${this.firstSeq}. Rebuild from a snapshot`,
      );
    }
    const first = this.#cache.firstSeq;
    if (first === undefined || fromSeq < first) return undefined;
    const out: WalEntry[] = [];
    this.#takeFromCache(out, fromSeq, to, maxBytes);
    return out;
  }

  /** Append cached entries [from, to] to out within budget; returns the next seq not taken. */
  #takeFromCache(out: WalEntry[], from: number, to: number, budget: number): number {
    let seq = from;
    let left = budget;
    for (; seq <= to; seq++) {
      const e = this.#cache.get(seq);
      invariant(e !== undefined, `committed seq ${seq} is cached`);
      if (out.length > 0 && e.payload.length > left) break;
      left -= e.payload.length;
      out.push({ seq: seq as Seq, term: e.term, payload: Buffer.from(e.payload) });
      this.stats.cacheReads++;
    }
    return seq;
  }

  async #readLocked(fromSeq: number, toSeq: number, maxBytes: number): Promise<WalEntry[]> {
    const out: WalEntry[] = [];
    const to = Math.min(toSeq, this.#durableSeq);
    if (fromSeq > to) return out;
    if (fromSeq < this.firstSeq) {
      throw new KisekiError(
        'KISEKI_E_NOENT',
        `WAL seq ${fromSeq} was compacted away; the log starts at ${this.firstSeq}`,
      );
    }
    let left = maxBytes;
    let seq = fromSeq;
    while (seq <= to) {
      const cacheFirst = this.#cache.firstSeq;
      if (cacheFirst !== undefined && seq >= cacheFirst) {
        const before = out.length;
        const next = this.#takeFromCache(out, seq, to, left);
        for (let i = before; i < out.length; i++) left -= out[i]!.payload.length;
        if (next <= to) break; // budget spent
        seq = next;
        continue;
      }
      const seg = this.#segmentOf(seq);
      const segLast = seg.firstSeq + seg.offsets.length - 1;
      const end = Math.min(to, segLast, cacheFirst === undefined ? to : cacheFirst - 1);
      const offAt = (s: number): number => seg.offsets[s - seg.firstSeq] ?? seg.size;
      // How many records fit the budget (at least one overall).
      let k = seq;
      let budgetHit = false;
      while (k <= end) {
        const payload = offAt(k + 1) - offAt(k) - WAL_RECORD_HEADER_BYTES;
        if ((out.length > 0 || k > seq) && payload > left) {
          budgetHit = true;
          break;
        }
        left -= payload;
        k++;
      }
      if (k > seq) await this.#readSegment(seg, seq, k - 1, offAt, out);
      if (budgetHit) break;
      seq = k;
    }
    return out;
  }

  /** Read records [from, to] of one segment with one pread and verify each (paired with encode). */
  async #readSegment(
    seg: Segment,
    from: number,
    to: number,
    offAt: (s: number) => number,
    out: WalEntry[],
  ): Promise<void> {
    const start = offAt(from);
    const len = offAt(to + 1) - start;
    const buf = Buffer.allocUnsafe(len);
    const fh = await open(seg.path, 'r');
    let got = 0;
    try {
      while (got < len) {
        const { bytesRead } = await fh.read(buf, got, len - got, start + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
    } finally {
      await fh.close();
    }
    if (got < len) {
      throw new KisekiError(
        'KISEKI_E_CORRUPT',
        `WAL ${seg.path} is shorter than its index: ${start + got} < ${start + len}`,
      );
    }
    for (let s = from; s <= to; s++) {
      const off = offAt(s) - start;
      const size = offAt(s + 1) - offAt(s);
      const p = parseWalRecord(buf, off, off + size);
      if (!p.ok || p.seq !== s || p.size !== size) {
        const why = p.ok ? `seq ${p.seq}/size ${p.size} where ${s}/${size} expected` : p.defect;
        throw new KisekiError(
          'KISEKI_E_CORRUPT',
          `WAL record ${s} in ${seg.path} at byte offset ${offAt(s)} failed verification on read (${why})`,
        );
      }
      out.push({
        seq: s as Seq,
        term: p.term,
        payload: buf.subarray(off + WAL_RECORD_HEADER_BYTES, off + size),
      });
      this.stats.diskReads++;
    }
  }

  /** The segment holding `seq` (binary search on firstSeq). */
  #segmentOf(seq: number): Segment {
    let lo = 0;
    let hi = this.#segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#segments[mid]!.firstSeq <= seq) lo = mid;
      else hi = mid - 1;
    }
    const seg = this.#segments[lo]!;
    invariant(seq >= seg.firstSeq && seq < seg.firstSeq + seg.offsets.length, `seq ${seq} is indexed`);
    return seg;
  }

  // ---------------------------------------------------------------- truncation

  async #truncateSuffixLocked(fromSeq: number): Promise<void> {
    this.#checkWritable();
    invariant(this.#admitted.length === 0 && !this.#writing, 'no writes during suffix truncation');
    invariant(this.#nextSeq === this.#durableSeq + 1, 'all admitted records are durable');
    if (fromSeq < this.firstSeq || fromSeq > this.#durableSeq + 1) {
      throw new KisekiError(
        'KISEKI_E_INVAL',
        `truncateSuffix(${fromSeq}) outside [${this.firstSeq}, ${this.#durableSeq + 1}]`,
      );
    }
    if (fromSeq === this.#durableSeq + 1) return;
    // The term the log continues with: that of the record before the cut, if still present.
    let term = 0;
    if (fromSeq - 1 >= this.firstSeq) {
      const prev = await this.#readLocked(fromSeq - 1, fromSeq - 1, 0);
      term = prev[0]!.term;
    }
    const idx = this.#segments.indexOf(this.#segmentOf(fromSeq));
    try {
      for (let j = this.#segments.length - 1; j > idx; j--) {
        const s = this.#segments.pop()!;
        const fh = s.fh;
        s.fh = undefined;
        await fh?.close();
        await unlink(s.path);
        this.stats.segmentsDeleted++;
      }
      const seg = this.#segments[idx]!;
      const cut = seg.offsets[fromSeq - seg.firstSeq]!;
      seg.fh ??= await open(seg.path, 'r+');
      await seg.fh.truncate(cut);
      await this.#beforeSync?.('fsync', seg.path);
      await seg.fh.sync();
      seg.offsets.length = fromSeq - seg.firstSeq;
      seg.size = cut;
      await this.#dirsync();
    } catch (err) {
      throw this.#fail(err);
    }
    this.#cache.dropFrom(fromSeq);
    this.#nextSeq = fromSeq;
    this.#durableSeq = fromSeq - 1;
    this.#assignedTerm = term;
  }
}
