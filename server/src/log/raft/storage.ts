/**
 * Raft's stable storage: the read side the core uses (`RaftStorage`), the write side the shell
 * uses to persist a Ready (`RaftStorageWriter`), and an in-memory implementation for tests and the
 * simulator (`MemoryRaftStorage`).
 *
 * Contract for any implementation (a WAL-backed one replaces the in-memory one later):
 * - Reads are synchronous and see exactly what was written, in order. A disk-backed store keeps
 *   the entries since its last compaction point indexed in memory (etcd keeps a MemoryStorage
 *   beside its WAL), so the core never waits on I/O.
 * - A write method returns only when the data is durable (or the shell batches several and
 *   fsyncs before sending the Ready's messages; see RaftNode.ready).
 * - The log is dense: entries (firstIndex-1, lastIndex] are all present, and the term of
 *   firstIndex-1 (the compaction point) is still known.
 * - `compact(i)` is only called at or below the latest snapshot's index, so a follower that
 *   needs an entry below firstIndex can always be sent `snapshot()` instead.
 */

import { invariant } from '@kiseki/proto';
import { confEqual } from './conf-change.ts';
import {
  type ConfState,
  EMPTY_CONF_STATE,
  EMPTY_HARD_STATE,
  type Entry,
  entryBytes,
  type HardState,
  type Index,
  type Snapshot,
  type Term,
} from './types.ts';

export interface RaftStorage {
  /** The durable hard state (EMPTY_HARD_STATE for a new node). */
  hardState(): HardState;
  /**
   * Entries in [lo, hi), payloads totalling at most `maxBytes` but at least one entry. The caller
   * guarantees firstIndex ≤ lo < hi ≤ lastIndex + 1.
   */
  entries(lo: Index, hi: Index, maxBytes: number): Entry[];
  /** Term of entry `i`, for firstIndex - 1 ≤ i ≤ lastIndex (firstIndex - 1: the compaction point). */
  term(i: Index): Term;
  /** First index still held as an entry (compaction point + 1). */
  firstIndex(): Index;
  /** Last index held; firstIndex - 1 when there are no entries. */
  lastIndex(): Index;
  /**
   * The latest snapshot, sent to followers that need compacted entries. Its metadata also gives
   * the configuration at its index (the bootstrap configuration at index 0 for a new log).
   */
  snapshot(): Snapshot;
}

/**
 * Writes the shell makes while handling a Ready, in this order: `applySnapshot`, `append`,
 * `setHardState`; then, after the application has applied entries, `createSnapshot` and
 * `compact` as it sees fit.
 */
export interface RaftStorageWriter extends RaftStorage {
  /** Replace the whole log with a snapshot received from the leader. */
  applySnapshot(snapshot: Snapshot): void;
  /** Append entries, first removing every stored entry at or after entries[0].index. */
  append(entries: readonly Entry[]): void;
  setHardState(hs: HardState): void;
  /**
   * Record a snapshot of the application state at `index` (≤ applied), with the configuration in
   * force there (RaftNode.confStateAt(index)).
   */
  createSnapshot(index: Index, conf: ConfState, data: Uint8Array): Snapshot;
  /** Drop the entries at or below `index`; `index` ≤ the latest snapshot's index. */
  compact(index: Index): void;
}

/**
 * The index up to which the shell may compact: never past what the state machine has applied,
 * never past the slowest log consumer's watermark (I-L4), and keeping `retain_entries` entries
 * so that a briefly lagging follower catches up from the log instead of a snapshot.
 * Returns 0 when nothing may be compacted.
 */
export function compactionIndex(opts: {
  applied: Index;
  /** Lowest consumer watermark (views + audit); undefined when no consumer is registered. */
  consumers_min: Index | undefined;
  retain_entries: number;
}): Index {
  const { applied, consumers_min, retain_entries } = opts;
  invariant(Number.isSafeInteger(retain_entries) && retain_entries >= 0, 'retain_entries must be ≥ 0');
  if (consumers_min === undefined) return 0 as Index;
  const upto = Math.min(applied, consumers_min) - retain_entries;
  return Math.max(0, upto) as Index;
}

/** Storage kept in memory: what the simulator treats as "fsynced". */
export class MemoryRaftStorage implements RaftStorageWriter {
  #hardState: HardState = EMPTY_HARD_STATE;
  #snapshot: Snapshot;
  /** Compaction point: entries hold (offset, offset + entries.length]. */
  #offset: Index;
  #offsetTerm: Term;
  #entries: Entry[] = [];

  /**
   * An empty log. `conf` is the bootstrap configuration (founding voters); a node that will join
   * an existing cluster starts with the empty configuration and learns its membership from the
   * leader.
   */
  constructor(conf: ConfState = EMPTY_CONF_STATE) {
    this.#snapshot = Object.freeze({
      metadata: Object.freeze({ index: 0 as Index, term: 0 as Term, conf }),
      data: new Uint8Array(0),
    });
    this.#offset = 0 as Index;
    this.#offsetTerm = 0 as Term;
  }

  hardState(): HardState {
    return this.#hardState;
  }

  entries(lo: Index, hi: Index, maxBytes: number): Entry[] {
    invariant(lo > this.#offset, `storage read from ${lo}: compacted up to ${this.#offset}`);
    invariant(hi <= this.lastIndex() + 1, `storage read to ${hi}: last index is ${this.lastIndex()}`);
    invariant(lo < hi, `storage read of the empty range [${lo}, ${hi})`);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.#entries[i - this.#offset - 1]!;
      bytes += entryBytes(e);
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  term(i: Index): Term {
    if (i === this.#offset) return this.#offsetTerm;
    invariant(
      i > this.#offset && i <= this.lastIndex(),
      `storage term of ${i}: outside (${this.#offset}, ${this.lastIndex()}]`,
    );
    return this.#entries[i - this.#offset - 1]!.term;
  }

  firstIndex(): Index {
    return (this.#offset + 1) as Index;
  }

  lastIndex(): Index {
    return (this.#offset + this.#entries.length) as Index;
  }

  snapshot(): Snapshot {
    return this.#snapshot;
  }

  applySnapshot(snapshot: Snapshot): void {
    const { index, term } = snapshot.metadata;
    invariant(
      index > this.#snapshot.metadata.index,
      `applySnapshot at ${index}: storage already has a snapshot at ${this.#snapshot.metadata.index}`,
    );
    this.#snapshot = snapshot;
    this.#offset = index;
    this.#offsetTerm = term;
    this.#entries = [];
  }

  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    invariant(first <= this.lastIndex() + 1, `append at ${first} leaves a gap after ${this.lastIndex()}`);
    for (let k = 1; k < entries.length; k++) {
      invariant(entries[k]!.index === first + k, 'append of non-contiguous entries');
    }
    // Entries at or below the compaction point are already covered by the snapshot.
    const skip = Math.max(0, this.#offset + 1 - first);
    if (skip >= entries.length) return;
    const from = first + skip;
    this.#entries.length = from - this.#offset - 1;
    for (let k = skip; k < entries.length; k++) this.#entries.push(entries[k]!);
  }

  setHardState(hs: HardState): void {
    invariant(
      hs.term >= this.#hardState.term,
      `hard state term going back from ${this.#hardState.term} to ${hs.term}`,
    );
    this.#hardState = hs;
  }

  createSnapshot(index: Index, conf: ConfState, data: Uint8Array): Snapshot {
    const prev = this.#snapshot.metadata;
    invariant(index >= prev.index, `createSnapshot at ${index}: older than the snapshot at ${prev.index}`);
    invariant(
      index <= this.lastIndex(),
      `createSnapshot at ${index}: past the last index ${this.lastIndex()}`,
    );
    if (index === prev.index) {
      invariant(confEqual(conf, prev.conf), `createSnapshot at ${index}: conf differs from the snapshot's`);
    }
    invariant(index >= this.#offset, `createSnapshot at ${index}: compacted up to ${this.#offset}`);
    this.#snapshot = Object.freeze({
      metadata: Object.freeze({ index, term: this.term(index), conf }),
      data,
    });
    return this.#snapshot;
  }

  compact(index: Index): void {
    if (index <= this.#offset) return;
    invariant(
      index <= this.#snapshot.metadata.index,
      `compact to ${index}: past the snapshot at ${this.#snapshot.metadata.index}`,
    );
    invariant(index <= this.lastIndex(), `compact to ${index}: past the last index ${this.lastIndex()}`);
    const t = this.term(index);
    this.#entries = this.#entries.slice(index - this.#offset);
    this.#offset = index;
    this.#offsetTerm = t;
  }
}
