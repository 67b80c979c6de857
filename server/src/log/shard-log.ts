/**
 * The Log context's contract with the rest of the server: a shard's totally ordered, durable
 * sequence of deltas (I-L1, I-L2), range reads and a follow stream for views and audit, and
 * consumer watermarks that bound compaction (I-L4). `SingleReplicaLog` implements it over one
 * local WAL; the Raft log (issue 3) will implement the same interface.
 */

import { join } from 'node:path';
import { KisekiError, type Seq, type ShardId, shardId as toShardId } from '@kiseki/proto';
import { CONSUMER_NAME_RE, CONSUMERS_FILE_NAME, ConsumerWatermarks } from './consumer-watermarks.ts';
import { RwLock } from './rw-lock.ts';
import { Wal, type WalOptions } from './wal.ts';
import { formatWalRecovery } from './wal-recovery.ts';

export interface LogEntry {
  seq: Seq;
  payload: Uint8Array;
}

export interface ShardLog {
  readonly shardId: ShardId;
  /**
   * Append deltas; resolves with their seqs (contiguous, in order) once committed (durable; for
   * Raft: on a majority). `signal` aborts only the wait for admission under backpressure; an
   * append already admitted completes.
   */
  append(deltas: Uint8Array[], signal?: AbortSignal): Promise<Seq[]>;
  /**
   * Committed entries in [from, to] (to clamped to committedSeq), payloads totalling at most
   * maxBytes but at least one entry when the range is not empty. KISEKI_E_NOENT if `from` was
   * compacted away.
   */
  read(from: Seq, to: Seq, maxBytes?: number): Promise<LogEntry[]>;
  /** Highest committed seq (0 when empty). */
  committedSeq(): Seq;
  /** Async iterator of committed entries starting at `from`, waking on new commits; ends on signal abort. */
  watch(from: Seq, signal: AbortSignal): AsyncIterable<LogEntry>;
  /**
   * Consumers (views, audit) register and advance watermarks; compaction never passes the
   * slowest (I-L4). A watermark W means the consumer has durably processed every delta ≤ W.
   * Both resolve once the watermark is durable: a consumer must not rely on its registration
   * (e.g. drop its own copy of deltas) before then. Registering an existing name resets its
   * watermark (a consumer rebuilt from scratch may go back); advancing never goes back.
   */
  registerConsumer(name: string, watermark: Seq): Promise<void>;
  advanceConsumer(name: string, watermark: Seq): Promise<void>;
  /**
   * Delete whole log segments at or below the slowest consumer's watermark. With no consumer
   * registered nothing is deleted. `removedUpTo` is the highest seq no longer readable.
   */
  compact(): Promise<{ removedUpTo: Seq }>;
  /** Flush pending appends and watermarks, then release files. */
  close(): Promise<void>;
}

/** Anything with pino-style `info`/`warn`/`error(obj, msg)`. */
export interface LogSink {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface SingleReplicaLogOptions extends WalOptions {
  /** Payload bytes read per step by `watch`. Default 1 MiB. */
  watch_batch_bytes_max?: number;
  /** Registered consumers per shard; beyond it registerConsumer is KISEKI_E_INVAL. Default 1024. */
  consumers_max?: number;
}

/** A ShardLog on one local WAL: committed = fdatasync'd on this node. */
export class SingleReplicaLog implements ShardLog {
  readonly shardId: ShardId;
  readonly wal: Wal;
  readonly #consumers: ConsumerWatermarks;
  readonly #watchBatchBytes: number;
  readonly #consumersMax: number;
  /** Registrations (shared) exclude a compaction in progress (exclusive). */
  readonly #compaction = new RwLock();

  private constructor(
    shard: ShardId,
    wal: Wal,
    consumers: ConsumerWatermarks,
    opts: SingleReplicaLogOptions,
  ) {
    this.shardId = shard;
    this.wal = wal;
    this.#consumers = consumers;
    this.#watchBatchBytes = opts.watch_batch_bytes_max ?? 1024 * 1024;
    this.#consumersMax = opts.consumers_max ?? 1024;
  }

  /**
   * Open the shard log in `dir` (WAL segments plus consumers.json). Logs the WAL recovery
   * report to `logger` when given: torn tails as warn, repairs as error.
   */
  static async open(
    shard: ShardId,
    dir: string,
    opts: SingleReplicaLogOptions = {},
    logger?: LogSink,
  ): Promise<SingleReplicaLog> {
    const wal = await Wal.open(dir, opts);
    const r = wal.recovery;
    if (logger !== undefined) {
      const fields = { shard, dir, ...r };
      if (r.outcome === 'torn-tail') logger.warn(fields, formatWalRecovery(r));
      else if (r.outcome === 'repaired') logger.error(fields, formatWalRecovery(r));
    }
    let consumers: ConsumerWatermarks;
    try {
      consumers = await ConsumerWatermarks.load(join(dir, CONSUMERS_FILE_NAME));
    } catch (err) {
      await wal.close();
      throw err;
    }
    return new SingleReplicaLog(shard, wal, consumers, opts);
  }

  append(deltas: Uint8Array[], signal?: AbortSignal): Promise<Seq[]> {
    return this.wal.append(deltas, undefined, signal);
  }

  async read(from: Seq, to: Seq, maxBytes?: number): Promise<LogEntry[]> {
    const entries = await this.wal.read(from, to, maxBytes);
    return entries.map((e) => ({ seq: e.seq, payload: e.payload }));
  }

  committedSeq(): Seq {
    return this.wal.lastSeq;
  }

  async *watch(from: Seq, signal: AbortSignal): AsyncIterable<LogEntry> {
    if (!Number.isSafeInteger(from) || from < 1) {
      throw new KisekiError('KISEKI_E_INVAL', `watch from ${from}: seqs start at 1`);
    }
    let next = from as number;
    while (!signal.aborted) {
      const committed = this.wal.lastSeq;
      if (next <= committed) {
        const entries = await this.wal.read(next as Seq, committed, this.#watchBatchBytes);
        for (const e of entries) {
          if (signal.aborted) return;
          yield { seq: e.seq, payload: e.payload };
          next = e.seq + 1;
        }
        continue;
      }
      try {
        await this.wal.waitForSeq(next, signal);
      } catch (err) {
        if (signal.aborted) return;
        throw err;
      }
    }
  }

  async registerConsumer(name: string, watermark: Seq): Promise<void> {
    this.#checkName(name);
    await this.#compaction.shared(async () => {
      this.#checkWatermark(name, watermark);
      if (watermark + 1 < this.wal.firstSeq) {
        throw new KisekiError(
          'KISEKI_E_NOENT',
          `consumer ${name} at ${watermark} needs deltas already compacted (log starts at ${this.wal.firstSeq}); rebuild it from a snapshot`,
        );
      }
      if (this.#consumers.get(name) === undefined && this.#consumers.size >= this.#consumersMax) {
        throw new KisekiError(
          'KISEKI_E_INVAL',
          `shard ${this.shardId} has ${this.#consumersMax} consumers (consumers_max)`,
        );
      }
      this.#consumers.set(name, watermark);
    });
    await this.#consumers.persist();
  }

  async advanceConsumer(name: string, watermark: Seq): Promise<void> {
    this.#checkName(name);
    this.#checkWatermark(name, watermark);
    const current = this.#consumers.get(name);
    if (current === undefined) {
      throw new KisekiError('KISEKI_E_NOENT', `consumer ${name} is not registered on shard ${this.shardId}`);
    }
    if (watermark < current) {
      throw new KisekiError(
        'KISEKI_E_INVAL',
        `consumer ${name} cannot move back from ${current} to ${watermark}`,
      );
    }
    if (watermark === current) return;
    this.#consumers.set(name, watermark);
    await this.#consumers.persist();
  }

  /** Current consumer watermarks (in memory), for status pages. */
  consumers(): [string, Seq][] {
    return this.#consumers.entries() as [string, Seq][];
  }

  compact(): Promise<{ removedUpTo: Seq }> {
    return this.#compaction.exclusive(async () => {
      const slowest = this.#consumers.min();
      const floor = (this.wal.firstSeq - 1) as Seq;
      if (slowest === undefined || slowest <= floor) return { removedUpTo: floor };
      const upto = Math.min(slowest, this.wal.lastSeq) as Seq;
      return { removedUpTo: await this.wal.truncatePrefix(upto) };
    });
  }

  async close(): Promise<void> {
    await this.wal.close();
    await this.#consumers.settled();
  }

  #checkName(name: string): void {
    if (typeof name !== 'string' || !CONSUMER_NAME_RE.test(name)) {
      throw new KisekiError(
        'KISEKI_E_INVAL',
        `consumer name ${JSON.stringify(name)}: use 1-128 of A-Z a-z 0-9 . _ : -`,
      );
    }
  }

  #checkWatermark(name: string, watermark: number): void {
    if (!Number.isSafeInteger(watermark) || watermark < 0) {
      throw new KisekiError('KISEKI_E_INVAL', `watermark ${watermark} for ${name}: use a seq ≥ 0`);
    }
    if (watermark > this.wal.lastSeq) {
      throw new KisekiError(
        'KISEKI_E_INVAL',
        `watermark ${watermark} for ${name} is past the committed seq ${this.wal.lastSeq}`,
      );
    }
  }
}

/**
 * Open the single-replica log of `shard` in `dir`. The argument order matches the node's
 * `OpenLog` hook: `(shard, dir) => openSingleReplicaLog(shard, dir, logger)`.
 */
export function openSingleReplicaLog(
  shard: ShardId | string,
  dir: string,
  logger?: LogSink,
  opts: SingleReplicaLogOptions = {},
): Promise<SingleReplicaLog> {
  return SingleReplicaLog.open(toShardId(shard), dir, opts, logger);
}
