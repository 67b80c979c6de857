/**
 * The Raft core's vocabulary: ids, entries, durable state and the messages nodes exchange.
 *
 * Ids, terms and indexes are branded numbers (safe integers) so one can't be passed as another.
 * Node ids start at 1; `NO_NODE` (0) means "nobody" (no vote, no known leader). Index 0 and term 0
 * are the empty log's dummy position.
 */

import { type Brand, invariant } from '@kiseki/proto';

/** A Raft member. Never reused: a node that leaves and comes back gets a new id. */
export type NodeId = Brand<number, 'RaftNodeId'>;
/** A Raft term (election epoch). */
export type Term = Brand<number, 'RaftTerm'>;
/** A position in the replicated log, starting at 1. */
export type Index = Brand<number, 'RaftIndex'>;

export const NO_NODE = 0 as NodeId;

export function nodeId(n: number): NodeId {
  invariant(Number.isSafeInteger(n) && n >= 1, `node id ${n} must be a safe integer ≥ 1`);
  return n as NodeId;
}
export function term(n: number): Term {
  invariant(Number.isSafeInteger(n) && n >= 0, `term ${n} must be a safe integer ≥ 0`);
  return n as Term;
}
export function index(n: number): Index {
  invariant(Number.isSafeInteger(n) && n >= 0, `index ${n} must be a safe integer ≥ 0`);
  return n as Index;
}

/**
 * `normal` carries an application payload (a delta; empty for the leader's no-op);
 * `conf-change` carries an encoded `ConfChangeEntry` (conf-change.ts).
 */
export type EntryType = 'normal' | 'conf-change';

/** One log entry. Entries are frozen when created: a committed entry never changes (I-L3). */
export interface Entry {
  readonly index: Index;
  readonly term: Term;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** Bytes an entry counts for in flow control and size bounds: its payload. */
export function entryBytes(e: Entry): number {
  return e.data.byteLength;
}

/**
 * What must be on stable storage before any message that depends on it is sent: the current
 * term, the vote cast in it, and the commit index (the commit index is only a hint for restart;
 * losing it is safe).
 */
export interface HardState {
  readonly term: Term;
  readonly vote: NodeId;
  readonly commit: Index;
}

export const EMPTY_HARD_STATE: HardState = Object.freeze({
  term: 0 as Term,
  vote: NO_NODE,
  commit: 0 as Index,
});

export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/** A membership configuration: voters decide elections and commits; learners only replicate. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export const EMPTY_CONF_STATE: ConfState = Object.freeze({ voters: [], learners: [] });

export interface SnapshotMetadata {
  /** Last index the snapshot covers, and its term. */
  readonly index: Index;
  readonly term: Term;
  /** The configuration in force at `index`. */
  readonly conf: ConfState;
}

/** A state-machine image covering every entry up to `metadata.index`. */
export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  readonly data: Uint8Array;
}

export const EMPTY_SNAPSHOT: Snapshot = Object.freeze({
  metadata: Object.freeze({ index: 0 as Index, term: 0 as Term, conf: EMPTY_CONF_STATE }),
  data: new Uint8Array(0),
});

/** Fields every message carries. `term` is the sender's term (pre-vote: the term it would campaign at). */
interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: Term;
}

/** RequestVote (`pre` true: a pre-vote that changes no one's term or vote). */
export interface VoteRequest extends MessageBase {
  readonly type: 'vote-request';
  readonly pre: boolean;
  readonly lastIndex: Index;
  readonly lastTerm: Term;
  /** Sent on a leader transfer (TimeoutNow): voters grant it even within a leader's lease. */
  readonly transfer: boolean;
}

export interface VoteResponse extends MessageBase {
  readonly type: 'vote-response';
  readonly pre: boolean;
  readonly granted: boolean;
}

/** AppendEntries: `entries` follow (prevIndex, prevTerm); `commit` is the leader's commit index. */
export interface AppendRequest extends MessageBase {
  readonly type: 'append';
  readonly prevIndex: Index;
  readonly prevTerm: Term;
  readonly entries: readonly Entry[];
  readonly commit: Index;
}

/**
 * Accepted: `index` is the follower's last index matching the leader. Rejected: `index` is the
 * rejected prevIndex, and (`hintIndex`, `hintTerm`) the follower's last entry at or below it with
 * a term ≤ the rejected prevTerm, so the leader can skip a whole term per round trip.
 */
export interface AppendResponse extends MessageBase {
  readonly type: 'append-response';
  readonly index: Index;
  readonly reject: boolean;
  readonly hintIndex: Index;
  readonly hintTerm: Term;
}

/** Leader liveness and commit propagation; `context` confirms leadership for a read index. */
export interface HeartbeatRequest extends MessageBase {
  readonly type: 'heartbeat';
  readonly commit: Index;
  readonly context: string | undefined;
}

export interface HeartbeatResponse extends MessageBase {
  readonly type: 'heartbeat-response';
  readonly context: string | undefined;
}

/** InstallSnapshot for a follower that needs entries the leader has compacted away. */
export interface SnapshotRequest extends MessageBase {
  readonly type: 'snapshot';
  readonly snapshot: Snapshot;
}

/** Leader transfer: the target campaigns at once, without pre-vote. */
export interface TimeoutNow extends MessageBase {
  readonly type: 'timeout-now';
}

/** A follower forwards a client's read-index request to the leader. */
export interface ReadIndexRequest extends MessageBase {
  readonly type: 'read-index';
  readonly context: string;
}

export interface ReadIndexResponse extends MessageBase {
  readonly type: 'read-index-response';
  readonly context: string;
  readonly index: Index;
}

export type Message =
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | HeartbeatRequest
  | HeartbeatResponse
  | SnapshotRequest
  | TimeoutNow
  | ReadIndexRequest
  | ReadIndexResponse;

export type MessageType = Message['type'];

/** A linearizable read point: serve `context`'s read once the state machine has applied `index`. */
export interface ReadState {
  readonly index: Index;
  readonly context: string;
}

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/** Volatile state worth showing: who leads and what this node is. */
export interface SoftState {
  readonly leader: NodeId;
  readonly role: Role;
}
