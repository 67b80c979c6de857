/**
 * The most recent committed records of one WAL, kept in memory so that followers of the log
 * (views, watchers) read them without touching disk. Bounded by payload bytes; the oldest entries
 * go first. Entries are dense: seqs `firstSeq .. lastSeq` with no holes.
 */

import { invariant } from '@kiseki/proto';

export interface TailEntry {
  readonly seq: number;
  readonly term: number;
  /** A view into a buffer the WAL owns and never mutates; copy before handing out. */
  readonly payload: Uint8Array;
}

export class TailCache {
  readonly #bytesMax: number;
  #entries: TailEntry[] = [];
  #head = 0;
  #bytes = 0;

  /** @param bytesMax payload bytes kept (entry headers are not counted); 0 disables the cache. */
  constructor(bytesMax: number) {
    invariant(Number.isSafeInteger(bytesMax) && bytesMax >= 0, 'tail cache bound is a byte count');
    this.#bytesMax = bytesMax;
  }

  get size(): number {
    return this.#entries.length - this.#head;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** First cached seq, or undefined when empty. */
  get firstSeq(): number | undefined {
    return this.#entries[this.#head]?.seq;
  }

  /** Add the next record; must follow the last cached seq (the cache is cleared on a gap). */
  push(e: TailEntry): void {
    const last = this.#entries[this.#entries.length - 1];
    if (this.size > 0 && last !== undefined) {
      invariant(e.seq === last.seq + 1, `tail cache: seq ${e.seq} after ${last.seq}`);
    }
    this.#entries.push(e);
    this.#bytes += e.payload.length;
    while (this.#bytes > this.#bytesMax && this.size > 0) this.#shift();
    this.#compact();
  }

  /** The entry for `seq`, if cached. */
  get(seq: number): TailEntry | undefined {
    const first = this.firstSeq;
    if (first === undefined || seq < first) return undefined;
    return this.#entries[this.#head + (seq - first)];
  }

  /** Drop entries with seq < `seq`. */
  dropBefore(seq: number): void {
    while (this.size > 0 && this.#entries[this.#head]!.seq < seq) this.#shift();
    this.#compact();
  }

  /** Drop entries with seq ≥ `seq`. */
  dropFrom(seq: number): void {
    while (this.size > 0 && this.#entries[this.#entries.length - 1]!.seq >= seq) {
      const e = this.#entries.pop()!;
      this.#bytes -= e.payload.length;
    }
    if (this.size === 0) this.clear();
  }

  clear(): void {
    this.#entries = [];
    this.#head = 0;
    this.#bytes = 0;
  }

  #shift(): void {
    const e = this.#entries[this.#head]!;
    this.#entries[this.#head] = undefined as unknown as TailEntry; // release the payload
    this.#head++;
    this.#bytes -= e.payload.length;
  }

  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }
}
