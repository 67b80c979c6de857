/**
 * A pure Raft state machine for one replica of one log, shaped like etcd's raft: the caller feeds
 * it messages (`step`), time (`tick`) and client requests (`propose`, `proposeConfChange`,
 * `readIndex`, `transferLeader`), and collects what to do from `ready()`. No sockets, timers,
 * disk or randomness inside: election jitter comes from the injected `random_int`.
 *
 * Features: leader election with pre-vote and check-quorum (a follower that heard from a leader
 * within election_ticks ignores vote requests); log replication with per-follower flow control
 * (probe / replicate / snapshot states, in-flight entries and bytes bounded); commit only by
 * counting entries of the leader's own term (§5.4.2); linearizable reads by read index (no leader
 * lease); install-snapshot for followers behind the compaction point; membership changes one
 * node at a time (add learner, promote, remove), in force as soon as the entry is in a node's log
 * (thesis §4.1), refused while one is uncommitted, before the leader has committed an entry of its
 * term, or when the new configuration could not reach a quorum of live voters; leader transfer
 * by TimeoutNow.
 *
 * THE ORDERING CONTRACT — how the shell handles a Ready (see `ready()`):
 *   1. Persist `snapshot` (if any), then `entries`, then `hardState` (if any) to stable storage:
 *      durably (fsync) before step 2. Entries replace any stored entries at the same or later
 *      indexes.
 *   2. Only then send `messages`. (A vote must be durable before it is granted on the wire; an
 *      append must be durable before it is acknowledged; the leader's entries before it sends them.)
 *   3. Apply `snapshot` (if any) and then `committedEntries` to the state machine, in order. Serve
 *      each of `readStates` once the state machine has applied its index.
 *   4. Call `advance(ready)`. Exactly one Ready is outstanding at a time; `step`, `tick` and the
 *      request methods may still be called while it is being handled (their effects come out in
 *      the next Ready).
 * A crash at any point loses only what was not yet persisted; a node restarts by constructing a
 * new RaftNode over the same storage.
 */

import { invariant, KisekiError } from '@kiseki/proto';
import {
  applyConfChange,
  type ConfChange,
  canonicalConf,
  confEqual,
  decodeConfChange,
  encodeConfChange,
  isMember,
  quorumSize,
} from './conf-change.ts';
import { type InflightLimits, Progress, type ProgressState } from './progress.ts';
import { RaftLog } from './raft-log.ts';
import { type ReadIndexStatus, ReadOnly } from './read-only.ts';
import type { RaftStorage } from './storage.ts';
import {
  type AppendRequest,
  type AppendResponse,
  type ConfState,
  type Entry,
  type EntryType,
  entryBytes,
  type HardState,
  type HeartbeatRequest,
  type HeartbeatResponse,
  hardStateEqual,
  type Index,
  type Message,
  NO_NODE,
  type NodeId,
  type ReadState,
  type Role,
  type Snapshot,
  type SnapshotRequest,
  type SoftState,
  type Term,
  type VoteRequest,
} from './types.ts';

const MiB = 1024 * 1024;
/** Payload bytes read per batch when a restart rescans the log for conf-change entries. */
const CONF_SCAN_BATCH_BYTES = 64 * MiB;

export interface RaftOptions {
  id: NodeId;
  storage: RaftStorage;
  /**
   * Uniform integer in [0, n): the randomized election timeout is election_ticks + random_int(election_ticks).
   * A seeded PRNG in simulation; any decent source in production.
   */
  random_int: (n: number) => number;
  /** Ticks without hearing from a leader before a follower campaigns (and a leader's lease). Default 10. */
  election_ticks?: number;
  /** Ticks between a leader's heartbeats; below election_ticks. Default 1. */
  heartbeat_ticks?: number;
  /** Entries in flight (sent, unacknowledged) to one follower in replicate state. Default 1024. */
  inflight_entries_max?: number;
  /** Payload bytes in flight to one follower; one append may overshoot by its last entry. Default 8 MiB. */
  inflight_bytes_max?: number;
  /** Payload bytes per append message (at least one entry is always sent). Default 1 MiB. */
  msg_bytes_max?: number;
  /** Payload bytes of committed entries per Ready (at least one entry). Default 16 MiB. */
  apply_bytes_max?: number;
  /** Payload bytes a leader holds uncommitted before refusing proposals. Default 64 MiB. */
  uncommitted_bytes_max?: number;
  /** Read-index requests a leader holds awaiting a heartbeat quorum. Default 4096. */
  read_index_pending_max?: number;
  /** Ticks a leader waits for a follower to apply a snapshot before sending it again. Default 5 × election_ticks. */
  snapshot_retry_ticks?: number;
  /**
   * Index the application has already applied (its state survived the restart). Default: the
   * storage snapshot's index (the application restores from that snapshot).
   */
  applied?: Index;
}

/** Why a request was refused. Expected outcomes, not bugs: the caller retries or redirects. */
export type RaftRefusal =
  /** This node is not the leader; `leader` says who is, when known. */
  | 'not-leader'
  /** A leader transfer is in progress; retry at the new leader shortly. */
  | 'leader-transferring'
  /** The leader has not committed an entry of its term yet (reads and conf changes wait for it). */
  | 'leader-not-ready'
  | 'uncommitted-bytes-max'
  | 'read-index-pending-max'
  /** A membership change is in the log but not committed yet. */
  | 'conf-change-pending'
  /** The change does not apply to the current configuration (e.g. promoting a non-learner). */
  | 'conf-change-invalid'
  /** The promoted learner has not caught up with the commit index yet. */
  | 'conf-change-learner-behind'
  /** The new configuration would have no voters, or fewer live voters than its quorum. */
  | 'conf-change-breaks-quorum'
  /** Transfer target is not a voter. */
  | 'transfer-invalid';

export type ProposeResult =
  | { readonly ok: true; readonly index: Index; readonly term: Term }
  | { readonly ok: false; readonly refusal: RaftRefusal; readonly leader: NodeId };

export type RequestResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly refusal: RaftRefusal; readonly leader: NodeId };

const REFUSAL_CODE: Record<RaftRefusal, KisekiError['code']> = {
  'not-leader': 'KISEKI_E_UNAVAILABLE',
  'leader-transferring': 'KISEKI_E_UNAVAILABLE',
  'leader-not-ready': 'KISEKI_E_UNAVAILABLE',
  'uncommitted-bytes-max': 'KISEKI_E_BUSY',
  'read-index-pending-max': 'KISEKI_E_BUSY',
  'conf-change-pending': 'KISEKI_E_BUSY',
  'conf-change-invalid': 'KISEKI_E_INVAL',
  'conf-change-learner-behind': 'KISEKI_E_BUSY',
  'conf-change-breaks-quorum': 'KISEKI_E_INVAL',
  'transfer-invalid': 'KISEKI_E_INVAL',
};

/** The registry error for a refusal, with a message that says what to do. */
export function refusalError(refusal: RaftRefusal, leader: NodeId): KisekiError {
  const hint = leader === NO_NODE ? 'no leader is known yet; retry shortly' : `retry at node ${leader}`;
  return new KisekiError(REFUSAL_CODE[refusal], `raft refused the request (${refusal}); ${hint}`);
}

/**
 * What the shell must do next, in the order of the contract at the top of this file. Every
 * field is a snapshot taken at `ready()`; the Ready must be passed back to `advance`.
 */
export interface Ready {
  /** Changed leader or role; volatile, for status only. */
  readonly softState: SoftState | undefined;
  /** Changed term/vote/commit: persist before sending `messages`. */
  readonly hardState: HardState | undefined;
  /** Entries to persist before sending `messages` (replacing stored entries from entries[0].index on). */
  readonly entries: readonly Entry[];
  /** A snapshot from the leader: persist (replacing the log) before `entries`, apply before `committedEntries`. */
  readonly snapshot: Snapshot | undefined;
  /** Send after persisting. */
  readonly messages: readonly Message[];
  /** Committed entries to apply, in order. */
  readonly committedEntries: readonly Entry[];
  /** Linearizable read points: serve each once the state machine has applied its index. */
  readonly readStates: readonly ReadState[];
}

export interface ProgressStatus {
  readonly match: Index;
  readonly next: Index;
  readonly state: ProgressState;
  readonly isLearner: boolean;
  readonly inflightEntries: number;
  readonly inflightBytes: number;
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: Term;
  readonly vote: NodeId;
  readonly leader: NodeId;
  readonly commit: Index;
  readonly applied: Index;
  readonly firstIndex: Index;
  readonly lastIndex: Index;
  readonly conf: ConfState;
  readonly leadTransferee: NodeId;
  /** Leader only: what it knows of each other member. */
  readonly progress: ReadonlyMap<NodeId, ProgressStatus>;
}

type VoteTally = 'won' | 'lost' | 'pending';

export class RaftNode {
  readonly id: NodeId;
  readonly election_ticks: number;
  readonly heartbeat_ticks: number;
  readonly #opts: Required<Omit<RaftOptions, 'id' | 'storage' | 'random_int' | 'applied'>>;
  readonly #limits: InflightLimits;
  readonly #random: (n: number) => number;
  readonly #log: RaftLog;

  #term: Term = 0 as Term;
  #vote: NodeId = NO_NODE;
  #lead: NodeId = NO_NODE;
  #role: Role = 'follower';

  /** Configuration from the latest conf-change entry in the log, or the base. */
  #conf: ConfState;
  /** Configuration at or below the compaction point (from a snapshot). */
  #confBase: { index: Index; conf: ConfState };
  /** Conf-change entries above the base, ascending: { index, resulting conf }. */
  #confLog: { index: Index; conf: ConfState }[] = [];

  /** Leader only: progress of every other member. */
  #prs = new Map<NodeId, Progress>();
  #votes = new Map<NodeId, boolean>();
  #electionElapsed = 0;
  #heartbeatElapsed = 0;
  #randomizedElectionTimeout = 0;
  #leadTransferee: NodeId = NO_NODE;
  #uncommittedBytes = 0;
  readonly #readOnly = new ReadOnly();

  #msgs: Message[] = [];
  #readStates: ReadState[] = [];
  #prevHardState: HardState;
  #prevSoftState: SoftState;
  #pendingReady: Ready | undefined;

  constructor(options: RaftOptions) {
    const election_ticks = options.election_ticks ?? 10;
    const heartbeat_ticks = options.heartbeat_ticks ?? 1;
    this.#opts = {
      election_ticks,
      heartbeat_ticks,
      inflight_entries_max: options.inflight_entries_max ?? 1024,
      inflight_bytes_max: options.inflight_bytes_max ?? 8 * MiB,
      msg_bytes_max: options.msg_bytes_max ?? MiB,
      apply_bytes_max: options.apply_bytes_max ?? 16 * MiB,
      uncommitted_bytes_max: options.uncommitted_bytes_max ?? 64 * MiB,
      read_index_pending_max: options.read_index_pending_max ?? 4096,
      snapshot_retry_ticks: options.snapshot_retry_ticks ?? 5 * election_ticks,
    };
    for (const [name, v] of Object.entries(this.#opts)) {
      if (!Number.isSafeInteger(v) || v < 1) {
        throw new KisekiError('KISEKI_E_INVAL', `raft option ${name}=${v}: use an integer ≥ 1`);
      }
    }
    if (heartbeat_ticks >= election_ticks) {
      throw new KisekiError(
        'KISEKI_E_INVAL',
        `raft heartbeat_ticks (${heartbeat_ticks}) must be below election_ticks (${election_ticks})`,
      );
    }
    invariant(Number.isSafeInteger(options.id) && options.id >= 1, `raft node id ${options.id} must be ≥ 1`);
    this.id = options.id;
    this.election_ticks = election_ticks;
    this.heartbeat_ticks = heartbeat_ticks;
    this.#limits = {
      inflight_entries_max: this.#opts.inflight_entries_max,
      inflight_bytes_max: this.#opts.inflight_bytes_max,
    };
    this.#random = options.random_int;

    const storage = options.storage;
    this.#log = new RaftLog(storage);
    const hs = storage.hardState();
    const snap = storage.snapshot().metadata;
    invariant(
      snap.index >= storage.firstIndex() - 1,
      `storage compacted to ${storage.firstIndex() - 1}, past its snapshot at ${snap.index}`,
    );
    invariant(
      hs.commit <= this.#log.lastIndex(),
      `hard state commit ${hs.commit} past the last index ${this.#log.lastIndex()}`,
    );
    this.#log.commitTo(Math.max(hs.commit, snap.index) as Index);
    this.#term = hs.term;
    this.#vote = hs.vote;
    this.#log.appliedTo(options.applied ?? snap.index);

    // Rebuild the configuration: the snapshot's, then every conf-change entry after it.
    this.#confBase = { index: snap.index, conf: snap.conf };
    this.#conf = snap.conf;
    const lo = Math.max(snap.index + 1, storage.firstIndex()) as Index;
    const hi = (storage.lastIndex() + 1) as Index;
    for (let at = lo; at < hi; ) {
      const ents = storage.entries(at, hi, CONF_SCAN_BATCH_BYTES);
      for (const e of ents) {
        if (e.type === 'conf-change')
          this.#confLog.push({ index: e.index, conf: decodeConfChange(e.data).conf });
      }
      at = (at + ents.length) as Index;
    }
    this.#conf = this.#confLog[this.#confLog.length - 1]?.conf ?? this.#confBase.conf;

    this.#prevHardState = hs;
    this.#becomeFollower(this.#term, NO_NODE);
    this.#prevSoftState = { leader: NO_NODE, role: 'follower' };
  }

  // ---------------------------------------------------------------------------------------------
  // Inputs

  /** Advance logical time by one tick. */
  tick(): void {
    if (this.#role === 'leader') this.#tickHeartbeat();
    else this.#tickElection();
  }

  /** Start an election now (pre-vote first), as if the election timeout had passed. */
  campaign(): void {
    this.#hup(false);
  }

  /** Handle a message from another node. */
  step(m: Message): void {
    invariant(m.to === this.id, `message for ${m.to} stepped into node ${this.id}`);
    invariant(
      m.from !== this.id && m.from !== NO_NODE,
      `message from ${m.from} stepped into node ${this.id}`,
    );
    if (m.term > this.#term) {
      if (m.type === 'vote-request') {
        const inLease = this.#lead !== NO_NODE && this.#electionElapsed < this.election_ticks;
        // Check-quorum: a node that heard from a live leader recently does not help depose it.
        if (!m.transfer && inLease) return;
      }
      if (m.type === 'vote-request' && m.pre) {
        // A pre-vote never changes our term.
      } else if (m.type === 'vote-response' && m.pre && m.granted) {
        // Granted pre-votes carry the term we would campaign at; we adopt it when we win.
      } else if (m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot') {
        this.#becomeFollower(m.term, m.from);
      } else {
        this.#becomeFollower(m.term, NO_NODE);
      }
    } else if (m.term < this.#term) {
      if (m.type === 'append' || m.type === 'heartbeat') {
        // A stale leader (e.g. cut off and healed): tell it our term so that it steps down.
        this.#send({
          type: 'append-response',
          from: this.id,
          to: m.from,
          term: this.#term,
          index: 0 as Index,
          reject: false,
          hintIndex: 0 as Index,
          hintTerm: 0 as Term,
        });
      } else if (m.type === 'vote-request' && m.pre) {
        this.#send({
          type: 'vote-response',
          from: this.id,
          to: m.from,
          term: this.#term,
          pre: true,
          granted: false,
        });
      }
      return;
    }

    if (m.type === 'vote-request') {
      this.#handleVoteRequest(m);
      return;
    }
    switch (this.#role) {
      case 'leader':
        this.#stepLeader(m);
        break;
      case 'pre-candidate':
      case 'candidate':
        this.#stepCandidate(m);
        break;
      case 'follower':
        this.#stepFollower(m);
        break;
    }
  }

  /** Append an application entry. Leader only; see RaftRefusal for the refusals. */
  propose(data: Uint8Array): ProposeResult {
    return this.proposeMany([data]);
  }

  /** Append several application entries at consecutive indexes; the result names the last. */
  proposeMany(datas: readonly Uint8Array[]): ProposeResult {
    invariant(datas.length > 0, 'proposeMany without entries');
    const refused = this.#refuseProposal();
    if (refused !== undefined) return refused;
    let bytes = 0;
    for (const d of datas) bytes += d.byteLength;
    if (this.#uncommittedBytes > 0 && this.#uncommittedBytes + bytes > this.#opts.uncommitted_bytes_max) {
      return this.#refuse('uncommitted-bytes-max');
    }
    const last = this.#appendEntries(datas.map((data) => ({ type: 'normal' as const, data })));
    this.#bcastAppend();
    return { ok: true, index: last, term: this.#term };
  }

  /** Propose a one-node membership change. Leader only. */
  proposeConfChange(change: ConfChange): ProposeResult {
    const refused = this.#refuseProposal();
    if (refused !== undefined) return refused;
    if (this.#log.term(this.#log.committed) !== this.#term) return this.#refuse('leader-not-ready');
    if (this.#lastConfIndex() > this.#log.committed) return this.#refuse('conf-change-pending');
    const next = applyConfChange(this.#conf, change);
    if (next === undefined) return this.#refuse('conf-change-invalid');
    if (next.voters.length === 0) return this.#refuse('conf-change-breaks-quorum');
    if (change.kind === 'promote') {
      const pr = this.#prs.get(change.node);
      if (pr === undefined || pr.match < this.#log.committed)
        return this.#refuse('conf-change-learner-behind');
    }
    const live = next.voters.filter((v) => v === this.id || this.#isActive(v));
    if (live.length < quorumSize(next.voters.length)) return this.#refuse('conf-change-breaks-quorum');
    const data = encodeConfChange({ change, conf: next });
    const last = this.#appendEntries([{ type: 'conf-change', data }]);
    this.#bcastAppend();
    return { ok: true, index: last, term: this.#term };
  }

  /**
   * Ask for a linearizable read point for `context` (unique per request). On success a ReadState
   * with this context comes out of a later Ready (on this node: a follower forwards the request
   * to its leader). It may never come (leader change, lost message): the caller times out.
   */
  readIndex(context: string): RequestResult {
    if (this.#role === 'leader') {
      if (this.#log.term(this.#log.committed) !== this.#term) return this.#refuse('leader-not-ready');
      if (this.#readOnly.size >= this.#opts.read_index_pending_max)
        return this.#refuse('read-index-pending-max');
      this.#handleReadIndex(this.id, context);
      return { ok: true };
    }
    if (this.#lead === NO_NODE) return this.#refuse('not-leader');
    this.#send({ type: 'read-index', from: this.id, to: this.#lead, term: this.#term, context });
    return { ok: true };
  }

  /** Hand leadership to voter `to` once it has caught up. Proposals are refused meanwhile. */
  transferLeader(to: NodeId): RequestResult {
    if (this.#role !== 'leader') return this.#refuse('not-leader');
    if (to === this.id) return { ok: true };
    if (!this.#conf.voters.includes(to)) return this.#refuse('transfer-invalid');
    if (this.#leadTransferee === to) return { ok: true };
    this.#abortLeaderTransfer();
    // The transfer must finish within one election timeout.
    this.#electionElapsed = 0;
    this.#leadTransferee = to;
    const pr = this.#prs.get(to);
    invariant(pr !== undefined, `no progress for voter ${to}`);
    if (pr.match === this.#log.lastIndex()) this.#sendTimeoutNow(to);
    else this.#sendAppend(to);
    return { ok: true };
  }

  /** The shell could not reach `id`: stop streaming to it optimistically. */
  reportUnreachable(id: NodeId): void {
    const pr = this.#role === 'leader' ? this.#prs.get(id) : undefined;
    if (pr !== undefined && pr.state === 'replicate') pr.becomeProbe();
  }

  /** The shell's outcome of streaming a snapshot to `id`. */
  reportSnapshot(id: NodeId, outcome: 'finished' | 'failed'): void {
    const pr = this.#role === 'leader' ? this.#prs.get(id) : undefined;
    if (pr === undefined || pr.state !== 'snapshot') return;
    if (outcome === 'failed') pr.pendingSnapshot = 0 as Index;
    pr.becomeProbe();
    // Wait for the next heartbeat response before probing again.
    pr.probeSent = true;
  }

  // ---------------------------------------------------------------------------------------------
  // Outputs

  /** Whether `ready()` has anything (always false while a Ready is outstanding). */
  hasReady(): boolean {
    if (this.#pendingReady !== undefined) return false;
    return (
      this.#msgs.length > 0 ||
      this.#readStates.length > 0 ||
      !hardStateEqual(this.#hardState(), this.#prevHardState) ||
      this.#prevSoftState.leader !== this.#lead ||
      this.#prevSoftState.role !== this.#role ||
      this.#log.unstableSnapshot() !== undefined ||
      this.#log.hasUnstableEntries() ||
      this.#log.hasNextCommittedEntries()
    );
  }

  /**
   * Take what must be persisted, sent and applied, in the order of the contract at the top of
   * this file: persist snapshot → entries → hardState; then send messages; then apply snapshot
   * and committedEntries and serve readStates; then `advance(ready)`. Throws if the previous
   * Ready has not been advanced.
   */
  ready(): Ready {
    invariant(this.#pendingReady === undefined, 'ready() called before advance() of the previous Ready');
    const hs = this.#hardState();
    const hardState = hardStateEqual(hs, this.#prevHardState) ? undefined : hs;
    const soft: SoftState = { leader: this.#lead, role: this.#role };
    const softState =
      soft.leader === this.#prevSoftState.leader && soft.role === this.#prevSoftState.role ? undefined : soft;
    const entries = Object.freeze(this.#log.unstableEntries());
    const committedEntries = Object.freeze(this.#log.nextCommittedEntries(this.#opts.apply_bytes_max));
    const snapshot = this.#log.unstableSnapshot();
    if (committedEntries.length > 0 && snapshot !== undefined) {
      invariant(
        committedEntries[0]!.index > snapshot.metadata.index,
        'committed entries overlap the snapshot',
      );
    }
    const rd: Ready = Object.freeze({
      softState,
      hardState,
      entries,
      snapshot,
      messages: Object.freeze(this.#msgs),
      committedEntries,
      readStates: Object.freeze(this.#readStates),
    });
    this.#msgs = [];
    this.#readStates = [];
    if (hardState !== undefined) this.#prevHardState = hardState;
    if (softState !== undefined) this.#prevSoftState = softState;
    this.#pendingReady = rd;
    return rd;
  }

  /** The shell has persisted, sent and applied `rd` (the last Ready taken). */
  advance(rd: Ready): void {
    invariant(this.#pendingReady === rd, 'advance() of a Ready that is not the outstanding one');
    this.#pendingReady = undefined;
    let applied = 0 as Index;
    if (rd.snapshot !== undefined) applied = rd.snapshot.metadata.index;
    const lastCommitted = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastCommitted !== undefined) {
      applied = lastCommitted.index;
      if (this.#role === 'leader') {
        let bytes = 0;
        for (const e of rd.committedEntries) bytes += entryBytes(e);
        this.#uncommittedBytes = Math.max(0, this.#uncommittedBytes - bytes);
      }
    }
    if (applied > this.#log.applied) this.#log.appliedTo(applied);
    const lastEntry = rd.entries[rd.entries.length - 1];
    if (lastEntry !== undefined) this.#log.stableTo(lastEntry.index, lastEntry.term);
    if (rd.snapshot !== undefined) this.#log.stableSnapTo(rd.snapshot.metadata.index);
    this.#pruneConfLog();
  }

  // ---------------------------------------------------------------------------------------------
  // Inspection (status pages, tests, the simulator's checkers)

  status(): RaftStatus {
    const progress = new Map<NodeId, ProgressStatus>();
    for (const [id, pr] of this.#prs) {
      progress.set(id, {
        match: pr.match,
        next: pr.next,
        state: pr.state,
        isLearner: pr.isLearner,
        inflightEntries: pr.inflights.entries,
        inflightBytes: pr.inflights.bytes,
      });
    }
    return {
      id: this.id,
      role: this.#role,
      term: this.#term,
      vote: this.#vote,
      leader: this.#lead,
      commit: this.#log.committed,
      applied: this.#log.applied,
      firstIndex: this.#log.firstIndex(),
      lastIndex: this.#log.lastIndex(),
      conf: this.#conf,
      leadTransferee: this.#leadTransferee,
      progress,
    };
  }

  get role(): Role {
    return this.#role;
  }
  get term(): Term {
    return this.#term;
  }
  get leader(): NodeId {
    return this.#lead;
  }
  get committed(): Index {
    return this.#log.committed;
  }
  get conf(): ConfState {
    return this.#conf;
  }

  firstIndex(): Index {
    return this.#log.firstIndex();
  }
  lastIndex(): Index {
    return this.#log.lastIndex();
  }
  /** Term of entry `i` in this node's log (persisted or not), or undefined if compacted / absent. */
  termAt(i: Index): Term | undefined {
    return this.#log.term(i);
  }
  /** This node's entries in [lo, hi) (persisted or not); throws if lo is compacted. */
  entries(lo: Index, hi: Index): Entry[] {
    const ents = this.#log.slice(lo, hi, Number.POSITIVE_INFINITY);
    invariant(
      ents !== 'compacted',
      `entries from ${lo} are compacted (first index ${this.#log.firstIndex()})`,
    );
    return ents;
  }

  /**
   * The configuration in force at `index` (≥ the compaction point): what a snapshot taken at
   * `index` must record (RaftStorageWriter.createSnapshot).
   */
  confStateAt(index: Index): ConfState {
    invariant(
      index >= this.#confBase.index,
      `conf at ${index}: below the compaction point ${this.#confBase.index}`,
    );
    invariant(
      index <= this.#log.lastIndex(),
      `conf at ${index}: past the last index ${this.#log.lastIndex()}`,
    );
    let conf = this.#confBase.conf;
    for (const c of this.#confLog) {
      if (c.index > index) break;
      conf = c.conf;
    }
    return conf;
  }

  // ---------------------------------------------------------------------------------------------
  // Roles

  #hardState(): HardState {
    return { term: this.#term, vote: this.#vote, commit: this.#log.committed };
  }

  #reset(t: Term): void {
    invariant(t >= this.#term, `term going back from ${this.#term} to ${t}`);
    if (t !== this.#term) {
      this.#term = t;
      this.#vote = NO_NODE;
    }
    this.#lead = NO_NODE;
    this.#electionElapsed = 0;
    this.#heartbeatElapsed = 0;
    this.#randomizedElectionTimeout = this.election_ticks + this.#randomInt(this.election_ticks);
    this.#abortLeaderTransfer();
    this.#votes.clear();
    this.#prs.clear();
    this.#readOnly.reset();
    this.#uncommittedBytes = 0;
  }

  #randomInt(n: number): number {
    const r = this.#random(n);
    invariant(Number.isSafeInteger(r) && r >= 0 && r < n, `random_int(${n}) returned ${r}`);
    return r;
  }

  #becomeFollower(t: Term, lead: NodeId): void {
    this.#reset(t);
    this.#lead = lead;
    this.#role = 'follower';
  }

  #becomePreCandidate(): void {
    invariant(this.#role !== 'leader', 'leader cannot become pre-candidate');
    // Neither term nor vote changes: a pre-vote that fails leaves no trace.
    this.#votes.clear();
    this.#lead = NO_NODE;
    this.#role = 'pre-candidate';
  }

  #becomeCandidate(): void {
    invariant(this.#role !== 'leader', 'leader cannot become candidate');
    this.#reset((this.#term + 1) as Term);
    this.#vote = this.id;
    this.#role = 'candidate';
  }

  #becomeLeader(): void {
    invariant(this.#role === 'candidate', `${this.#role} cannot become leader`);
    this.#reset(this.#term);
    this.#lead = this.id;
    this.#role = 'leader';
    const next = (this.#log.lastIndex() + 1) as Index;
    for (const id of [...this.#conf.voters, ...this.#conf.learners]) {
      if (id === this.id) continue;
      this.#prs.set(id, new Progress(next, this.#conf.learners.includes(id), this.#limits));
    }
    // A no-op of our term: once committed, everything before it is known committed (§5.4.2, §8).
    this.#appendEntries([{ type: 'normal', data: new Uint8Array(0) }]);
  }

  #promotable(): boolean {
    return this.#conf.voters.includes(this.id) && this.#log.unstableSnapshot() === undefined;
  }

  #tickElection(): void {
    this.#electionElapsed++;
    if (this.#promotable() && this.#electionElapsed >= this.#randomizedElectionTimeout) {
      this.#electionElapsed = 0;
      this.#hup(false);
    }
  }

  #tickHeartbeat(): void {
    this.#heartbeatElapsed++;
    this.#electionElapsed++;
    for (const pr of this.#prs.values()) {
      pr.silentTicks++;
      if (pr.state === 'snapshot' && ++pr.snapshotTicks >= this.#opts.snapshot_retry_ticks) {
        // The snapshot (or its answer) was lost: probe again, which resends it if still needed.
        pr.becomeProbe();
      }
    }
    if (this.#electionElapsed >= this.election_ticks) {
      this.#electionElapsed = 0;
      if (!this.#quorumActive()) {
        // Check-quorum: a leader cut off from a majority steps down instead of serving stale reads.
        this.#becomeFollower(this.#term, NO_NODE);
        return;
      }
      if (this.#leadTransferee !== NO_NODE) this.#abortLeaderTransfer();
    }
    if (this.#heartbeatElapsed >= this.heartbeat_ticks) {
      this.#heartbeatElapsed = 0;
      this.#bcastHeartbeat();
    }
  }

  #isActive(id: NodeId): boolean {
    const pr = this.#prs.get(id);
    return pr !== undefined && pr.silentTicks < this.election_ticks;
  }

  #quorumActive(): boolean {
    let active = 0;
    for (const v of this.#conf.voters) if (v === this.id || this.#isActive(v)) active++;
    return active >= quorumSize(this.#conf.voters.length);
  }

  #hup(transfer: boolean): void {
    if (this.#role === 'leader' || !this.#promotable()) return;
    this.#campaign(!transfer, transfer);
  }

  #campaign(pre: boolean, transfer: boolean): void {
    if (pre) this.#becomePreCandidate();
    else this.#becomeCandidate();
    const voteTerm = (pre ? this.#term + 1 : this.#term) as Term;
    if (this.#poll(this.id, true) === 'won') {
      // A single voter wins at once.
      if (pre) this.#campaign(false, transfer);
      else this.#becomeLeader();
      return;
    }
    const lastIndex = this.#log.lastIndex();
    const lastTerm = this.#log.lastTerm();
    for (const v of this.#conf.voters) {
      if (v === this.id) continue;
      this.#send({
        type: 'vote-request',
        from: this.id,
        to: v,
        term: voteTerm,
        pre,
        lastIndex,
        lastTerm,
        transfer,
      });
    }
  }

  #poll(id: NodeId, granted: boolean): VoteTally {
    if (!this.#votes.has(id)) this.#votes.set(id, granted);
    let yes = 0;
    let no = 0;
    for (const v of this.#conf.voters) {
      const g = this.#votes.get(v);
      if (g === true) yes++;
      else if (g === false) no++;
    }
    const q = quorumSize(this.#conf.voters.length);
    if (yes >= q) return 'won';
    if (this.#conf.voters.length - no < q) return 'lost';
    return 'pending';
  }

  #handleVoteRequest(m: VoteRequest): void {
    const canVote =
      this.#vote === m.from ||
      (this.#vote === NO_NODE && this.#lead === NO_NODE) ||
      (m.pre && m.term > this.#term);
    if (canVote && this.#log.isUpToDate(m.lastIndex, m.lastTerm)) {
      // The response carries the requested term so the candidate counts it; a real vote is
      // recorded in the hard state, which is persisted before this message goes out.
      this.#send({
        type: 'vote-response',
        from: this.id,
        to: m.from,
        term: m.term,
        pre: m.pre,
        granted: true,
      });
      if (!m.pre) {
        this.#electionElapsed = 0;
        this.#vote = m.from;
      }
    } else {
      this.#send({
        type: 'vote-response',
        from: this.id,
        to: m.from,
        term: this.#term,
        pre: m.pre,
        granted: false,
      });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Per-role message handling

  #stepLeader(m: Exclude<Message, VoteRequest>): void {
    switch (m.type) {
      case 'append-response':
        this.#handleAppendResponse(m);
        break;
      case 'heartbeat-response':
        this.#handleHeartbeatResponse(m);
        break;
      case 'read-index':
        if (this.#log.term(this.#log.committed) !== this.#term) return;
        if (this.#readOnly.size >= this.#opts.read_index_pending_max) return;
        this.#handleReadIndex(m.from, m.context);
        break;
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        invariant(
          false,
          `election safety: node ${m.from} acts as leader in term ${m.term}, led by ${this.id}`,
        );
        break;
      case 'vote-response':
      case 'timeout-now':
      case 'read-index-response':
        break;
    }
  }

  #stepCandidate(m: Exclude<Message, VoteRequest>): void {
    switch (m.type) {
      case 'append':
        this.#becomeFollower(m.term, m.from);
        this.#handleAppend(m);
        break;
      case 'heartbeat':
        this.#becomeFollower(m.term, m.from);
        this.#handleHeartbeat(m);
        break;
      case 'snapshot':
        this.#becomeFollower(m.term, m.from);
        this.#handleSnapshot(m);
        break;
      case 'vote-response': {
        if (m.pre !== (this.#role === 'pre-candidate')) return;
        const tally = this.#poll(m.from, m.granted);
        if (tally === 'won') {
          if (this.#role === 'pre-candidate') {
            this.#campaign(false, false);
          } else {
            this.#becomeLeader();
            this.#bcastAppend();
          }
        } else if (tally === 'lost') {
          this.#becomeFollower(this.#term, NO_NODE);
        }
        break;
      }
      default:
        break;
    }
  }

  #stepFollower(m: Exclude<Message, VoteRequest>): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        invariant(
          this.#lead === NO_NODE || this.#lead === m.from,
          `election safety: nodes ${this.#lead} and ${m.from} both lead term ${m.term}`,
        );
        this.#electionElapsed = 0;
        this.#lead = m.from;
        if (m.type === 'append') this.#handleAppend(m);
        else if (m.type === 'heartbeat') this.#handleHeartbeat(m);
        else this.#handleSnapshot(m);
        break;
      case 'timeout-now':
        // Leader transfer: campaign at once, skipping pre-vote and others' leases.
        this.#hup(true);
        break;
      case 'read-index-response':
        this.#readStates.push({ index: m.index, context: m.context });
        break;
      default:
        break;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Follower side of replication

  #handleAppend(m: AppendRequest): void {
    const log = this.#log;
    if (m.prevIndex < log.committed) {
      this.#sendAppendResponse(m.from, log.committed, false);
      return;
    }
    if (log.matchTerm(m.prevIndex, m.prevTerm)) {
      const lastNew = (m.prevIndex + m.entries.length) as Index;
      const ci = log.findConflict(m.entries);
      if (ci !== 0) {
        invariant(
          ci > log.committed,
          `entry ${ci} conflicts with the committed prefix (commit ${log.committed})`,
        );
        this.#appendToLog(m.entries.slice(ci - (m.prevIndex + 1)));
      }
      log.commitTo(Math.min(m.commit, lastNew) as Index);
      this.#sendAppendResponse(m.from, lastNew, false);
      return;
    }
    const hint = Math.min(m.prevIndex, log.lastIndex()) as Index;
    const [hintIndex, hintTerm] = log.findConflictByTerm(hint, m.prevTerm);
    this.#send({
      type: 'append-response',
      from: this.id,
      to: m.from,
      term: this.#term,
      index: m.prevIndex,
      reject: true,
      hintIndex,
      hintTerm,
    });
  }

  #sendAppendResponse(to: NodeId, index: Index, reject: boolean): void {
    this.#send({
      type: 'append-response',
      from: this.id,
      to,
      term: this.#term,
      index,
      reject,
      hintIndex: 0 as Index,
      hintTerm: 0 as Term,
    });
  }

  #handleHeartbeat(m: HeartbeatRequest): void {
    // The leader sends min(our match, its commit), so we hold the entries it names.
    this.#log.commitTo(m.commit);
    this.#send({
      type: 'heartbeat-response',
      from: this.id,
      to: m.from,
      term: this.#term,
      context: m.context,
    });
  }

  #handleSnapshot(m: SnapshotRequest): void {
    const s = m.snapshot;
    const { index, term } = s.metadata;
    const log = this.#log;
    if (index <= log.committed) {
      this.#sendAppendResponse(m.from, log.committed, false);
      return;
    }
    if (log.matchTerm(index, term)) {
      // We already hold the snapshot's last entry, hence everything before it: just commit.
      log.commitTo(index);
      this.#sendAppendResponse(m.from, log.committed, false);
      return;
    }
    const oldCommitted = log.committed;
    log.restore(s);
    // Conf entries up to the old commit index are part of the snapshot's (committed) prefix and
    // stay answerable: the application may still snapshot at an index it applied before this.
    this.#confLog = this.#confLog.filter((c) => c.index <= oldCommitted);
    this.#confLog.push({ index, conf: s.metadata.conf });
    this.#setConf(s.metadata.conf);
    this.#sendAppendResponse(m.from, log.lastIndex(), false);
  }

  // ---------------------------------------------------------------------------------------------
  // Leader side of replication

  #handleAppendResponse(m: AppendResponse): void {
    const pr = this.#prs.get(m.from);
    if (pr === undefined) return;
    pr.silentTicks = 0;
    const log = this.#log;
    if (m.reject) {
      let nextProbe = m.hintIndex;
      if (m.hintTerm > 0) [nextProbe] = log.findConflictByTerm(m.hintIndex, m.hintTerm);
      if (pr.maybeDecrTo(m.index, nextProbe)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.#sendAppend(m.from);
      }
      return;
    }
    invariant(
      m.index <= log.lastIndex(),
      `node ${m.from} acknowledged ${m.index}, past our last index ${log.lastIndex()}`,
    );
    const oldPaused = pr.isPaused();
    if (!(pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === 'probe'))) return;
    if (pr.state === 'probe') {
      pr.becomeReplicate();
    } else if (pr.state === 'snapshot') {
      if (pr.match >= pr.pendingSnapshot || pr.match + 1 >= log.firstIndex()) {
        pr.becomeProbe();
        pr.becomeReplicate();
      }
    } else {
      pr.inflights.freeLE(m.index);
    }
    if (this.#maybeCommit()) {
      this.#bcastAppend();
      if (this.#maybeStepDownRemoved()) return;
    } else if (oldPaused) {
      this.#sendAppend(m.from);
    }
    // Fill the window while there is room and something to send.
    while (this.#prs.has(m.from) && this.#maybeSendAppend(m.from, false)) {
      // keep sending
    }
    if (m.from === this.#leadTransferee && pr.match === log.lastIndex()) this.#sendTimeoutNow(m.from);
  }

  #handleHeartbeatResponse(m: HeartbeatResponse): void {
    const pr = this.#prs.get(m.from);
    if (pr === undefined) return;
    pr.silentTicks = 0;
    pr.probeSent = false;
    // Appends or their acks may have been lost: open one slot so that the next append exposes the gap.
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.match < this.#log.lastIndex() || pr.state === 'probe') this.#sendAppend(m.from);
    if (m.context === undefined || pr.isLearner) return;
    const acks = this.#readOnly.recvAck(m.from, m.context);
    if (acks === undefined) return;
    let granted = 0;
    for (const v of this.#conf.voters) if (acks.has(v)) granted++;
    if (granted < quorumSize(this.#conf.voters.length)) return;
    for (const rs of this.#readOnly.advance(m.context)) this.#respondReadIndex(rs);
  }

  #handleReadIndex(from: NodeId, context: string): void {
    if (this.#conf.voters.length === 1 && this.#conf.voters[0] === this.id) {
      this.#respondReadIndex({ index: this.#log.committed, from, context, acks: new Set() });
      return;
    }
    if (!this.#readOnly.add(this.#log.committed, from, context)) return;
    if (this.#conf.voters.includes(this.id)) this.#readOnly.recvAck(this.id, context);
    this.#bcastHeartbeat();
  }

  #respondReadIndex(rs: ReadIndexStatus): void {
    if (rs.from === this.id) {
      this.#readStates.push({ index: rs.index, context: rs.context });
    } else {
      this.#send({
        type: 'read-index-response',
        from: this.id,
        to: rs.from,
        term: this.#term,
        context: rs.context,
        index: rs.index,
      });
    }
  }

  /** Advance commit to the highest index of our term held by a quorum of voters. */
  #maybeCommit(): boolean {
    const voters = this.#conf.voters;
    if (voters.length === 0) return false;
    const matches = voters.map((v) =>
      v === this.id ? this.#log.lastIndex() : (this.#prs.get(v)?.match ?? 0),
    );
    matches.sort((a, b) => b - a);
    const mci = matches[quorumSize(voters.length) - 1]! as Index;
    return this.#log.maybeCommit(mci, this.#term);
  }

  /** A leader whose own removal is committed hands over by stepping down (thesis §4.2.2). */
  #maybeStepDownRemoved(): boolean {
    if (this.#role !== 'leader' || this.#conf.voters.includes(this.id)) return false;
    if (this.#lastConfIndex() > this.#log.committed) return false;
    this.#becomeFollower(this.#term, NO_NODE);
    return true;
  }

  #bcastAppend(): void {
    for (const id of this.#prs.keys()) this.#sendAppend(id);
  }

  #bcastHeartbeat(): void {
    const context = this.#readOnly.lastPendingContext();
    for (const [id, pr] of this.#prs) {
      const hb: HeartbeatRequest = {
        type: 'heartbeat',
        from: this.id,
        to: id,
        term: this.#term,
        commit: Math.min(pr.match, this.#log.committed) as Index,
        context,
      };
      this.#send(hb);
    }
  }

  #sendAppend(to: NodeId): void {
    this.#maybeSendAppend(to, true);
  }

  /**
   * Send the next append (or a snapshot) to `to` unless its progress is paused. With
   * `sendIfEmpty` false, nothing is sent when there are no new entries. Returns whether sent.
   */
  #maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.#prs.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const log = this.#log;
    const lastIndex = log.lastIndex();
    invariant(
      pr.next <= lastIndex + 1,
      `progress of ${to}: next ${pr.next} past our last index ${lastIndex}`,
    );
    const prevIndex = (pr.next - 1) as Index;
    const prevTerm = log.term(prevIndex);
    let ents: Entry[] | 'compacted' = 'compacted';
    if (prevTerm !== undefined) {
      let hi = lastIndex + 1;
      let maxBytes = this.#opts.msg_bytes_max;
      if (pr.state === 'replicate') {
        hi = Math.min(hi, pr.next + pr.inflights.entriesRoom());
        maxBytes = Math.min(maxBytes, pr.inflights.bytesRoom());
      }
      ents = log.slice(pr.next, hi as Index, maxBytes);
    }
    if (ents === 'compacted') {
      // Only a follower that answers gets a snapshot; a dead one would just waste the bandwidth.
      if (!this.#isActive(to)) return false;
      const snapshot = log.snapshot();
      invariant(snapshot.metadata.index >= prevIndex, `no snapshot covers index ${prevIndex} for node ${to}`);
      const msg: SnapshotRequest = { type: 'snapshot', from: this.id, to, term: this.#term, snapshot };
      this.#send(msg);
      pr.becomeSnapshot(snapshot.metadata.index);
      return true;
    }
    if (ents.length === 0 && !sendIfEmpty) return false;
    const msg: AppendRequest = {
      type: 'append',
      from: this.id,
      to,
      term: this.#term,
      prevIndex,
      prevTerm: prevTerm as Term,
      entries: Object.freeze(ents),
      commit: log.committed,
    };
    this.#send(msg);
    let bytes = 0;
    for (const e of ents) bytes += entryBytes(e);
    pr.sentEntries(ents[ents.length - 1]?.index, ents.length, bytes);
    return true;
  }

  #sendTimeoutNow(to: NodeId): void {
    this.#send({ type: 'timeout-now', from: this.id, to, term: this.#term });
  }

  #abortLeaderTransfer(): void {
    this.#leadTransferee = NO_NODE;
  }

  #refuse(refusal: RaftRefusal): { ok: false; refusal: RaftRefusal; leader: NodeId } {
    return { ok: false, refusal, leader: this.#lead === this.id ? NO_NODE : this.#lead };
  }

  #refuseProposal(): { ok: false; refusal: RaftRefusal; leader: NodeId } | undefined {
    if (this.#role !== 'leader') return this.#refuse('not-leader');
    if (this.#leadTransferee !== NO_NODE) return this.#refuse('leader-transferring');
    // A leader whose removal is in its log only finishes replicating it.
    if (!isMember(this.#conf, this.id)) return this.#refuse('not-leader');
    return undefined;
  }

  /** Leader: append entries of the current term; returns the last index. */
  #appendEntries(items: readonly { type: EntryType; data: Uint8Array }[]): Index {
    invariant(this.#role === 'leader', 'only a leader appends its own entries');
    const li = this.#log.lastIndex();
    const ents: Entry[] = items.map((it, k) =>
      Object.freeze({ index: (li + 1 + k) as Index, term: this.#term, type: it.type, data: it.data }),
    );
    for (const e of ents) this.#uncommittedBytes += entryBytes(e);
    this.#appendToLog(ents);
    // A single voter commits by itself.
    this.#maybeCommit();
    return this.#log.lastIndex();
  }

  /** The one place entries enter the log: keeps the configuration in step with it. */
  #appendToLog(ents: readonly Entry[]): void {
    if (ents.length === 0) return;
    const first = ents[0]!.index;
    invariant(first > this.#confBase.index, `append at ${first}: at or below the configuration base`);
    while (this.#confLog.length > 0 && this.#confLog[this.#confLog.length - 1]!.index >= first)
      this.#confLog.pop();
    this.#log.append(ents);
    for (const e of ents) {
      if (e.type === 'conf-change')
        this.#confLog.push({ index: e.index, conf: decodeConfChange(e.data).conf });
    }
    const conf = this.#confLog[this.#confLog.length - 1]?.conf ?? this.#confBase.conf;
    if (!confEqual(conf, this.#conf)) this.#setConf(conf);
  }

  #setConf(conf: ConfState): void {
    this.#conf = canonicalConf(conf.voters, conf.learners);
    if (this.#role !== 'leader') return;
    const next = (this.#log.lastIndex() + 1) as Index;
    for (const id of [...conf.voters, ...conf.learners]) {
      if (id === this.id) continue;
      const learner = conf.learners.includes(id);
      const pr = this.#prs.get(id);
      if (pr === undefined) this.#prs.set(id, new Progress(next, learner, this.#limits));
      else pr.isLearner = learner;
    }
    for (const id of [...this.#prs.keys()]) {
      if (isMember(conf, id)) continue;
      this.#prs.delete(id);
      if (id === this.#leadTransferee) this.#abortLeaderTransfer();
    }
  }

  #lastConfIndex(): Index {
    return this.#confLog[this.#confLog.length - 1]?.index ?? this.#confBase.index;
  }

  /**
   * Fold conf-change entries at or below the storage's compaction point (and the applied index)
   * into the base: confStateAt stays answerable for every index the application may snapshot at.
   */
  #pruneConfLog(): void {
    const floor = Math.min(this.#log.storage.firstIndex() - 1, this.#log.applied);
    while (this.#confLog.length > 0 && this.#confLog[0]!.index <= floor) {
      const c = this.#confLog.shift()!;
      this.#confBase = c;
    }
  }

  #send(m: Message): void {
    invariant(m.to !== this.id, `node ${this.id} sending ${m.type} to itself`);
    this.#msgs.push(Object.freeze(m));
  }
}
