/**
 * What a leader knows about each follower's log, and the flow control that bounds how far ahead
 * of a follower it may run.
 *
 * States (etcd's):
 * - `probe`: the leader does not know where the follower's log ends; it sends one append and
 *   waits for the answer (or the next heartbeat response) before sending another.
 * - `replicate`: the follower is known to match up to `match`; the leader streams appends
 *   optimistically, bounded by `Inflights` (entries and bytes in flight).
 * - `snapshot`: a snapshot is on its way; nothing else is sent until the follower reports it
 *   applied, the shell reports a failure, or `snapshot_retry_ticks` pass.
 */

import { invariant } from '@kiseki/proto';
import type { Index } from './types.ts';

export interface InflightLimits {
  /** Entries sent but not yet acknowledged, summed over in-flight appends. */
  inflight_entries_max: number;
  /** Payload bytes sent but not yet acknowledged; one append may overshoot by its last entry. */
  inflight_bytes_max: number;
}

/** Appends in flight to one follower, oldest first, each remembered by its last index. */
export class Inflights {
  readonly limits: InflightLimits;
  readonly #lastIndex: Index[] = [];
  readonly #count: number[] = [];
  readonly #bytes: number[] = [];
  #entries = 0;
  #totalBytes = 0;

  constructor(limits: InflightLimits) {
    invariant(limits.inflight_entries_max >= 1, 'inflight_entries_max must be ≥ 1');
    invariant(limits.inflight_bytes_max >= 1, 'inflight_bytes_max must be ≥ 1');
    this.limits = limits;
  }

  /** Record an append of `count` entries ending at `last`, carrying `bytes` payload bytes. */
  add(last: Index, count: number, bytes: number): void {
    invariant(!this.full(), 'append sent while the in-flight window is full');
    invariant(count >= 1, 'in-flight append without entries');
    invariant(
      this.#entries + count <= this.limits.inflight_entries_max,
      `in-flight entries ${this.#entries + count} exceed inflight_entries_max ${this.limits.inflight_entries_max}`,
    );
    const prev = this.#lastIndex[this.#lastIndex.length - 1];
    invariant(
      prev === undefined || last > prev,
      `in-flight append ending at ${last} after one ending at ${prev}`,
    );
    this.#lastIndex.push(last);
    this.#count.push(count);
    this.#bytes.push(bytes);
    this.#entries += count;
    this.#totalBytes += bytes;
  }

  /** The follower acknowledged everything up to `to`: release those appends. */
  freeLE(to: Index): void {
    let n = 0;
    while (n < this.#lastIndex.length && this.#lastIndex[n]! <= to) {
      this.#entries -= this.#count[n]!;
      this.#totalBytes -= this.#bytes[n]!;
      n++;
    }
    if (n === 0) return;
    this.#lastIndex.splice(0, n);
    this.#count.splice(0, n);
    this.#bytes.splice(0, n);
  }

  /** Release the oldest append: a heartbeat answer shows the follower alive although acks were lost. */
  freeFirstOne(): void {
    if (this.#lastIndex.length === 0) return;
    this.freeLE(this.#lastIndex[0]!);
  }

  full(): boolean {
    return (
      this.#entries >= this.limits.inflight_entries_max || this.#totalBytes >= this.limits.inflight_bytes_max
    );
  }

  /** Entries the next append may carry without passing inflight_entries_max. */
  entriesRoom(): number {
    return Math.max(0, this.limits.inflight_entries_max - this.#entries);
  }

  /** Bytes the next append may carry before reaching inflight_bytes_max (it still carries ≥ 1 entry). */
  bytesRoom(): number {
    return Math.max(0, this.limits.inflight_bytes_max - this.#totalBytes);
  }

  get entries(): number {
    return this.#entries;
  }

  get bytes(): number {
    return this.#totalBytes;
  }

  get appends(): number {
    return this.#lastIndex.length;
  }

  reset(): void {
    this.#lastIndex.length = 0;
    this.#count.length = 0;
    this.#bytes.length = 0;
    this.#entries = 0;
    this.#totalBytes = 0;
  }
}

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  /** Highest index known to match the leader's log. */
  match: Index;
  /** Next index to send. Invariant: match < next. */
  next: Index;
  state: ProgressState = 'probe';
  /** In `snapshot`: the index of the snapshot sent. */
  pendingSnapshot: Index = 0 as Index;
  /** Leader ticks spent in `snapshot` state, for the retry. */
  snapshotTicks = 0;
  /** In `probe`: an append was sent and not answered yet. */
  probeSent = false;
  /** Leader ticks since this node last answered; check-quorum counts nodes under election_ticks. */
  silentTicks = 0;
  isLearner: boolean;
  readonly inflights: Inflights;

  constructor(next: Index, isLearner: boolean, limits: InflightLimits) {
    this.match = 0 as Index;
    this.next = next;
    this.isLearner = isLearner;
    this.inflights = new Inflights(limits);
  }

  #resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0 as Index;
    this.snapshotTicks = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') {
      const pending = this.pendingSnapshot;
      this.#resetState('probe');
      this.next = Math.max(this.match + 1, pending + 1) as Index;
    } else {
      this.#resetState('probe');
      this.next = (this.match + 1) as Index;
    }
  }

  becomeReplicate(): void {
    this.#resetState('replicate');
    this.next = (this.match + 1) as Index;
  }

  becomeSnapshot(snapshotIndex: Index): void {
    this.#resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /** An append of `count` entries ending at `last` (or an empty probe when count is 0) went out. */
  sentEntries(last: Index | undefined, count: number, bytes: number): void {
    switch (this.state) {
      case 'replicate':
        if (count > 0) {
          invariant(last !== undefined, 'entries sent without a last index');
          this.next = (last + 1) as Index;
          this.inflights.add(last, count, bytes);
        }
        break;
      case 'probe':
        this.probeSent = true;
        break;
      case 'snapshot':
        invariant(false, 'append sent to a follower receiving a snapshot');
    }
  }

  /** The follower acknowledged up to `n`. Returns false when the ack is stale. */
  maybeUpdate(n: Index): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    if (this.next < n + 1) this.next = (n + 1) as Index;
    return updated;
  }

  /**
   * The follower rejected an append at `rejected`; `matchHint` is where its log may match. Returns
   * false when the rejection is stale (answers an older append).
   */
  maybeDecrTo(rejected: Index, matchHint: Index): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = (this.match + 1) as Index;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1) as Index;
    this.probeSent = false;
    return true;
  }

  /** Whether the leader must hold further appends to this follower. */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }
}
