/**
 * A node's view of its log: what stable storage holds plus the "unstable" tail (entries and at
 * most one snapshot) that the core has accepted but the shell has not yet persisted. Ported from
 * etcd raft's raftLog/unstable, in their shape.
 *
 * Index bounds: committed ≤ lastIndex, applied ≤ committed, and no entry at or below committed is
 * ever replaced (I-L3); each is asserted where it could break.
 */

import { invariant } from '@kiseki/proto';
import type { RaftStorage } from './storage.ts';
import { type Entry, entryBytes, type Index, type Snapshot, type Term } from './types.ts';

/** Entries and a snapshot not yet on stable storage. `offset` is the index of entries[0]. */
class Unstable {
  snapshot: Snapshot | undefined;
  entries: Entry[] = [];
  offset: Index;

  constructor(offset: Index) {
    this.offset = offset;
  }

  maybeFirstIndex(): Index | undefined {
    return this.snapshot === undefined ? undefined : ((this.snapshot.metadata.index + 1) as Index);
  }

  maybeLastIndex(): Index | undefined {
    if (this.entries.length > 0) return (this.offset + this.entries.length - 1) as Index;
    return this.snapshot?.metadata.index;
  }

  maybeTerm(i: Index): Term | undefined {
    if (i < this.offset) {
      if (this.snapshot !== undefined && this.snapshot.metadata.index === i)
        return this.snapshot.metadata.term;
      return undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || i > last) return undefined;
    if (this.entries.length === 0) return undefined;
    return this.entries[i - this.offset]!.term;
  }

  /** Entries up to (i, t) reached stable storage; drop them unless they were replaced meanwhile. */
  stableTo(i: Index, t: Term): void {
    const gt = this.maybeTerm(i);
    if (gt === undefined || gt !== t || i < this.offset) return;
    this.entries = this.entries.slice(i + 1 - this.offset);
    this.offset = (i + 1) as Index;
  }

  stableSnapTo(i: Index): void {
    if (this.snapshot !== undefined && this.snapshot.metadata.index === i) this.snapshot = undefined;
  }

  restore(s: Snapshot): void {
    this.offset = (s.metadata.index + 1) as Index;
    this.entries = [];
    this.snapshot = s;
  }

  truncateAndAppend(ents: readonly Entry[]): void {
    const after = ents[0]!.index;
    if (after === this.offset + this.entries.length) {
      this.entries.push(...ents);
    } else if (after <= this.offset) {
      // Replace the whole unstable tail; storage is truncated when these are persisted.
      this.offset = after;
      this.entries = [...ents];
    } else {
      this.entries = this.entries.slice(0, after - this.offset).concat(ents);
    }
  }

  slice(lo: Index, hi: Index): Entry[] {
    invariant(
      this.offset <= lo && lo <= hi && hi <= this.offset + this.entries.length,
      `unstable slice [${lo}, ${hi}) outside [${this.offset}, ${this.offset + this.entries.length})`,
    );
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}

export class RaftLog {
  readonly storage: RaftStorage;
  readonly #unstable: Unstable;
  /** Highest index known to be on a quorum. */
  committed: Index;
  /** Highest index handed to the application (in a Ready that was advanced). */
  applied: Index;

  constructor(storage: RaftStorage) {
    this.storage = storage;
    this.#unstable = new Unstable((storage.lastIndex() + 1) as Index);
    const first = storage.firstIndex();
    this.committed = (first - 1) as Index;
    this.applied = (first - 1) as Index;
  }

  firstIndex(): Index {
    return this.#unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): Index {
    return this.#unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** Term of entry `i`, or undefined when `i` is compacted away or past the end. */
  term(i: Index): Term | undefined {
    const dummy = this.firstIndex() - 1;
    if (i < dummy || i > this.lastIndex()) return undefined;
    const t = this.#unstable.maybeTerm(i);
    if (t !== undefined) return t;
    return this.storage.term(i);
  }

  lastTerm(): Term {
    const t = this.term(this.lastIndex());
    invariant(t !== undefined, 'term of the last index is unknown');
    return t;
  }

  matchTerm(i: Index, t: Term): boolean {
    return this.term(i) === t;
  }

  /** Whether a log ending at (lastIndex, lastTerm) is at least as up to date as ours (§5.4.1). */
  isUpToDate(lastIndex: Index, lastTerm: Term): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** First entry of `ents` that is missing or differs from ours, or 0 when all match. */
  findConflict(ents: readonly Entry[]): Index {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0 as Index;
  }

  /**
   * Our last entry at or below `index` whose term is ≤ `t`: the leader's next probe point after a
   * rejection. Returns term 0 when the search runs into the compacted prefix.
   */
  findConflictByTerm(index: Index, t: Term): [Index, Term] {
    for (let i = index; i > 0; i--) {
      const ti = this.term(i as Index);
      if (ti === undefined) return [i as Index, 0 as Term];
      if (ti <= t) return [i as Index, ti];
    }
    return [0 as Index, 0 as Term];
  }

  append(ents: readonly Entry[]): Index {
    if (ents.length === 0) return this.lastIndex();
    const first = ents[0]!.index;
    invariant(
      first - 1 >= this.committed,
      `append at ${first} would replace committed entries (commit ${this.committed})`,
    );
    invariant(first <= this.lastIndex() + 1, `append at ${first} leaves a gap after ${this.lastIndex()}`);
    for (let k = 0; k < ents.length; k++) {
      invariant(ents[k]!.index === first + k, 'append of non-contiguous entries');
      if (k > 0) invariant(ents[k]!.term >= ents[k - 1]!.term, 'append with terms going back');
    }
    const prevTerm = this.term((first - 1) as Index);
    invariant(prevTerm !== undefined && prevTerm <= ents[0]!.term, `append at ${first}: term goes back`);
    this.#unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  unstableEntries(): Entry[] {
    return [...this.#unstable.entries];
  }

  hasUnstableEntries(): boolean {
    return this.#unstable.entries.length > 0;
  }

  unstableSnapshot(): Snapshot | undefined {
    return this.#unstable.snapshot;
  }

  /** Committed entries not yet applied, payloads totalling at most maxBytes (at least one). */
  nextCommittedEntries(maxBytes: number): Entry[] {
    const off = Math.max(this.applied + 1, this.firstIndex()) as Index;
    if (this.committed + 1 <= off) return [];
    const ents = this.slice(off, (this.committed + 1) as Index, maxBytes);
    invariant(ents !== 'compacted', `committed entries from ${off} were compacted before being applied`);
    return ents;
  }

  hasNextCommittedEntries(): boolean {
    const off = Math.max(this.applied + 1, this.firstIndex());
    return this.committed + 1 > off;
  }

  /** The snapshot a lagging follower should get: the unstable one if any, else storage's. */
  snapshot(): Snapshot {
    return this.#unstable.snapshot ?? this.storage.snapshot();
  }

  commitTo(toCommit: Index): void {
    if (this.committed >= toCommit) return;
    invariant(toCommit <= this.lastIndex(), `commit ${toCommit} is past the last index ${this.lastIndex()}`);
    this.committed = toCommit;
  }

  appliedTo(i: Index): void {
    if (i === 0) return;
    invariant(
      i <= this.committed && i >= this.applied,
      `applied ${i} outside [applied ${this.applied}, committed ${this.committed}]`,
    );
    this.applied = i;
  }

  stableTo(i: Index, t: Term): void {
    this.#unstable.stableTo(i, t);
  }

  stableSnapTo(i: Index): void {
    this.#unstable.stableSnapTo(i);
  }

  /** Leader: commit `maxIndex` if it is an entry of `t` (the current term; §5.4.2). */
  maybeCommit(maxIndex: Index, t: Term): boolean {
    if (maxIndex > this.committed && this.term(maxIndex) === t) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  restore(s: Snapshot): void {
    invariant(
      s.metadata.index > this.committed,
      `restore of snapshot ${s.metadata.index} ≤ commit ${this.committed}`,
    );
    this.committed = s.metadata.index;
    this.#unstable.restore(s);
  }

  /**
   * Entries in [lo, hi), payloads totalling at most maxBytes but at least one, or 'compacted' when
   * lo is below the first index.
   */
  slice(lo: Index, hi: Index, maxBytes: number): Entry[] | 'compacted' {
    if (lo < this.firstIndex()) return 'compacted';
    invariant(hi <= this.lastIndex() + 1, `slice to ${hi} past the last index ${this.lastIndex()}`);
    if (lo >= hi) return [];
    const u = this.#unstable;
    let out: Entry[] = [];
    if (lo < u.offset) {
      const stop = Math.min(hi, u.offset) as Index;
      out = this.storage.entries(lo, stop, maxBytes);
      if (out.length < stop - lo) return out;
    }
    if (hi > u.offset) {
      let bytes = 0;
      for (const e of out) bytes += entryBytes(e);
      for (const e of u.slice(Math.max(lo, u.offset) as Index, hi)) {
        bytes += entryBytes(e);
        if (out.length > 0 && bytes > maxBytes) break;
        out.push(e);
      }
    }
    return out;
  }
}
