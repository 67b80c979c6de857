/**
 * Feeds committed deltas of one shard into the view, in order, from the view's watermark
 * (I-V1, I-V2). At start it replays whatever the view has not seen; afterwards it follows the
 * log. Writers wait on `waitFor(seq)` for read-your-writes.
 */
import { DeltaHeaderCodec, decodeDeltaEnvelope, KisekiError } from '@kiseki/proto';
import type { ShardLog } from '../log/index.ts';
import type { ViewStore } from './store.ts';

export const REPLAY_BATCH_BYTES_MAX = 8 * 1024 * 1024;
export const WAIT_FOR_SEQ_MS_MAX = 30_000;

export class Materializer {
  readonly #waiters = new Map<number, Array<() => void>>();
  readonly #abort = new AbortController();
  #running: Promise<void> | undefined;
  #failure: Error | undefined;

  constructor(
    readonly shard: string,
    private readonly log: ShardLog,
    private readonly view: ViewStore,
  ) {}

  get applied(): number {
    return this.view.watermark(this.shard);
  }

  /** Applies every committed delta the view has not seen yet; returns how many. */
  async catchUp(): Promise<number> {
    let n = 0;
    for (;;) {
      const from = this.applied + 1;
      const to = this.log.committedSeq();
      if (from > to) return n;
      const entries = await this.log.read(from as never, to as never, REPLAY_BATCH_BYTES_MAX);
      for (const e of entries) {
        this.#applyOne(e.seq, e.payload);
        n++;
      }
    }
  }

  /** Follows the log until stopped. */
  start(): void {
    const signal = this.#abort.signal;
    this.#running = (async () => {
      try {
        for await (const e of this.log.watch((this.applied + 1) as never, signal)) {
          if (e.seq <= this.applied) continue;
          this.#applyOne(e.seq, e.payload);
        }
      } catch (err) {
        if (signal.aborted) return;
        this.#failure = err as Error;
        for (const [, ws] of this.#waiters) for (const w of ws) w();
        this.#waiters.clear();
        throw err;
      }
    })();
    this.#running.catch(() => {}); // surfaced through waitFor and stop
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#running?.catch(() => {});
  }

  /** Resolves once the view has applied `seq` (bounded by `timeoutMs`). */
  waitFor(seq: number, timeoutMs = WAIT_FOR_SEQ_MS_MAX): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.applied >= seq) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new KisekiError(
            'KISEKI_E_TIMEOUT',
            `view of ${this.shard} did not reach seq ${seq} in ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      const list = this.#waiters.get(seq) ?? [];
      list.push(() => {
        clearTimeout(timer);
        if (this.#failure) reject(this.#failure);
        else resolve();
      });
      this.#waiters.set(seq, list);
    });
  }

  #applyOne(seq: number, bytes: Uint8Array): void {
    const env = decodeDeltaEnvelope(bytes);
    const header = DeltaHeaderCodec.decode(env.header);
    this.view.applyEnvelope(this.shard, seq, header, env.payload);
    for (const [s, ws] of this.#waiters) {
      if (s <= seq) {
        this.#waiters.delete(s);
        for (const w of ws) w();
      }
    }
  }
}
