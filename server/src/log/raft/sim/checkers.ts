/**
 * Safety checkers the simulator runs after every step, over every live node's in-memory state:
 *
 * - Election safety: at most one leader per term, ever.
 * - Log matching: two logs that hold an entry with the same index and term hold the same entry
 *   and agree on the term before it (by induction, the same whole prefix). Checked globally: each
 *   (index, term) seen anywhere must always carry the same payload and previous term.
 * - Leader completeness: a leader of term T holds every entry committed in a term below T. The
 *   term an entry was committed in is taken as the term of the first node seen with it committed
 *   (checks run after every step, so that is the committing leader itself, or an upper bound).
 *   Checked when a leader is first seen, and for every live leader whenever a commit is recorded.
 * - Commit stability (I-L3): an index, once committed anywhere, always holds the same entry.
 * - State-machine safety: no two nodes apply different entries at one index, and their state
 *   machines agree after the same index (including a state restored from a snapshot).
 *
 * A violation throws `InvariantViolation`; the simulator adds the seed and step.
 */

import type { RaftNode } from '../raft-node.ts';
import type { Entry, Index, NodeId, Term } from '../types.ts';

export class InvariantViolation extends Error {
  readonly invariantName: string;
  constructor(invariantName: string, detail: string) {
    super(`${invariantName}: ${detail}`);
    this.name = 'InvariantViolation';
    this.invariantName = invariantName;
  }
}

/** Per-node bookkeeping the checker keeps between steps. Reset when the node restarts. */
export interface NodeCheckState {
  /** Entries up to here were checked for log matching (as of when its term was `verifiedTerm`). */
  verifiedLast: Index;
  verifiedTerm: Term | undefined;
  /** Commit index up to which this node's committed entries were recorded. */
  checkedCommit: Index;
}

export function freshCheckState(): NodeCheckState {
  return { verifiedLast: 0 as Index, verifiedTerm: 0 as Term, checkedCommit: 0 as Index };
}

const digests = new WeakMap<Entry, string>();

/** Type and payload of an entry, as a comparable string. */
export function entryDigest(e: Entry): string {
  let d = digests.get(e);
  if (d === undefined) {
    d = `${e.type}:${Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength).toString('base64')}`;
    digests.set(e, d);
  }
  return d;
}

export class SafetyChecker {
  /** term → the one node that led it. */
  readonly leaders = new Map<Term, NodeId>();
  /** `${index}:${term}` → `${prevTerm}|${digest}`. */
  readonly #entries = new Map<string, string>();
  /** index → committed entry's term and digest, and the term it was committed in (upper bound). */
  readonly #committed = new Map<Index, { term: Term; digest: string; commitTerm: Term }>();
  /** Live leaders as of the last check, for leader completeness on new commits. */
  readonly #liveLeaders = new Map<NodeId, RaftNode>();
  /** index → state-machine encoding after applying it. */
  readonly #stateAt = new Map<Index, string>();
  #maxCommitted = 0 as Index;
  checks = 0;

  get maxCommitted(): Index {
    return this.#maxCommitted;
  }

  committedTerm(i: Index): Term | undefined {
    return this.#committed.get(i)?.term;
  }

  /** Run every per-node check on one live node. */
  checkNode(raft: RaftNode, st: NodeCheckState): void {
    this.checks++;
    if (raft.role === 'leader') this.#liveLeaders.set(raft.id, raft);
    else this.#liveLeaders.delete(raft.id);
    this.#electionSafety(raft);
    this.#logMatching(raft, st);
    this.#commitStability(raft, st);
  }

  #electionSafety(raft: RaftNode): void {
    if (raft.role !== 'leader') return;
    const t = raft.term;
    const prev = this.leaders.get(t);
    if (prev === undefined) {
      this.leaders.set(t, raft.id);
      this.#leaderCompleteness(raft);
    } else if (prev !== raft.id) {
      throw new InvariantViolation('election safety', `nodes ${prev} and ${raft.id} both lead term ${t}`);
    }
  }

  /** A node left the cluster or crashed: it is no longer a live leader. */
  forget(id: NodeId): void {
    this.#liveLeaders.delete(id);
  }

  #leaderCompleteness(raft: RaftNode): void {
    const first = raft.firstIndex();
    for (let i = this.#maxCommitted; i >= first; i--) {
      this.#leaderHas(raft, i as Index);
    }
  }

  #leaderHas(raft: RaftNode, i: Index): void {
    const rec = this.#committed.get(i);
    if (rec === undefined || rec.commitTerm >= raft.term || i < raft.firstIndex()) return;
    const t = raft.termAt(i);
    if (t !== rec.term) {
      const has = t === undefined ? `a log ending at ${raft.lastIndex()}` : `${i}@${t}`;
      throw new InvariantViolation(
        'leader completeness',
        `node ${raft.id} leads term ${raft.term} with ${has}, but ${i}@${rec.term} was committed in term ≤ ${rec.commitTerm}`,
      );
    }
  }

  #logMatching(raft: RaftNode, st: NodeCheckState): void {
    const last = raft.lastIndex();
    const first = raft.firstIndex();
    // Re-check from the commit point if the tail we verified changed (truncated, replaced, compacted).
    if (st.verifiedLast > last || raft.termAt(st.verifiedLast) !== st.verifiedTerm) {
      st.verifiedLast = Math.max(first - 1, Math.min(raft.committed, last)) as Index;
    }
    if (st.verifiedLast < first - 1) st.verifiedLast = (first - 1) as Index;
    if (st.verifiedLast >= last) {
      st.verifiedTerm = raft.termAt(st.verifiedLast);
      return;
    }
    const ents = raft.entries((st.verifiedLast + 1) as Index, (last + 1) as Index);
    let prevTerm = raft.termAt(st.verifiedLast);
    for (const e of ents) {
      const key = `${e.index}:${e.term}`;
      const val = `${prevTerm}|${entryDigest(e)}`;
      const seen = this.#entries.get(key);
      if (seen === undefined) this.#entries.set(key, val);
      else if (seen !== val) {
        throw new InvariantViolation(
          'log matching',
          `node ${raft.id} holds ${key} as ${val.slice(0, 80)}, another log holds it as ${seen.slice(0, 80)}`,
        );
      }
      prevTerm = e.term;
    }
    st.verifiedLast = last;
    st.verifiedTerm = raft.termAt(last);
  }

  #commitStability(raft: RaftNode, st: NodeCheckState): void {
    const commit = raft.committed;
    if (st.checkedCommit > commit) st.checkedCommit = commit;
    if (st.checkedCommit >= commit) return;
    const first = raft.firstIndex();
    const lo = Math.max(st.checkedCommit + 1, first);
    if (lo <= commit) {
      for (const e of raft.entries(lo as Index, (commit + 1) as Index)) this.#recordCommitted(raft, e);
    }
    st.checkedCommit = commit;
    if (commit > this.#maxCommitted) this.#maxCommitted = commit;
  }

  #recordCommitted(by: RaftNode, e: Entry): void {
    const d = entryDigest(e);
    const rec = this.#committed.get(e.index);
    if (rec === undefined) {
      this.#committed.set(e.index, { term: e.term, digest: d, commitTerm: by.term });
      for (const leader of this.#liveLeaders.values()) this.#leaderHas(leader, e.index);
    } else if (rec.term !== e.term || rec.digest !== d) {
      throw new InvariantViolation(
        'commit stability (I-L3)',
        `node ${by.id} has ${e.index}@${e.term} committed, but ${e.index}@${rec.term} was committed before`,
      );
    }
  }

  /** Node `by` applied `e`; `state` is its state machine's encoding afterwards. */
  applied(by: RaftNode, e: Entry, state: string): void {
    const id = by.id;
    this.#recordCommitted(by, e);
    if (e.index > this.#maxCommitted) this.#maxCommitted = e.index;
    this.#state(id, e.index, state);
  }

  /** Node `id` restored a snapshot at `index`; `state` is its state machine's encoding. */
  restored(id: NodeId, index: Index, state: string): void {
    this.#state(id, index, state);
  }

  #state(id: NodeId, index: Index, state: string): void {
    const prev = this.#stateAt.get(index);
    if (prev === undefined) this.#stateAt.set(index, state);
    else if (prev !== state) {
      throw new InvariantViolation(
        'state-machine safety',
        `node ${id} has state ${state.slice(0, 100)} after ${index}, another node had ${prev.slice(0, 100)}`,
      );
    }
  }
}
