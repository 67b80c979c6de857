/**
 * The node-to-node Raft service's paths and its admin requests: what `kiseki node …`,
 * `kiseki shard …`, the e2e tests and `pnpm bench raft` send to a kiseki-server. The Raft
 * messages themselves are framed by server/src/log/raft/codec.ts (only nodes speak them).
 *
 * A `Call` request is one byte of kind followed by its body; kind 2 (admin) carries a JSON
 * RaftAdminRequest and its reply is JSON. Calls carry the admin token as `authorization`.
 */

export const RAFT_STREAM_PATH = '/kiseki.raft.v1.Raft/Stream';
export const RAFT_CALL_PATH = '/kiseki.raft.v1.Raft/Call';
export const RAFT_CALL_FETCH = 1;
export const RAFT_CALL_ADMIN = 2;

export type RaftAdminRequest =
  | { op: 'status' }
  | { op: 'transfer-leader'; group: string; to: number }
  | { op: 'conf'; group: string; kind: 'add-learner' | 'promote' | 'remove'; node: number; address?: string }
  /** Append raw payloads (base64) to a raw group (`_probe`); replies { seqs }. */
  | { op: 'propose'; group: string; payloads: string[] }
  /** A linearizable read point (read index); replies { seq }. */
  | { op: 'barrier'; group: string }
  /** This node's applied deltas [from, to] of a group (no leader needed); replies { entries: [{ seq, data }] }. */
  | { op: 'read'; group: string; from: number; to: number };

export interface RaftGroupStatus {
  group: string;
  role: string;
  leader: number;
  term: number;
  commit: number;
  applied: number;
  firstIndex: number;
  lastIndex: number;
  voters: number[];
  learners: number[];
  /** Highest delta seq in this node's applied log. */
  seq: number;
  progress: { node: number; match: number; state: string }[];
}

export interface RaftNodeStatus {
  node: number;
  address: string;
  peers: Record<string, string>;
  groups: RaftGroupStatus[];
}

export function encodeRaftAdmin(req: RaftAdminRequest): Buffer {
  return Buffer.concat([Buffer.from([RAFT_CALL_ADMIN]), Buffer.from(JSON.stringify(req))]);
}
