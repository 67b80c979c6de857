/**
 * Raft for the Log context (issue 3): a pure core (RaftNode), its storage contract with an
 * in-memory implementation, and the membership-change format. The deterministic simulator lives
 * in ./sim and is not part of this surface.
 */
export {
  applyConfChange,
  type ConfChange,
  type ConfChangeEntry,
  type ConfChangeKind,
  canonicalConf,
  decodeConfChange,
  encodeConfChange,
  quorumSize,
} from './conf-change.ts';
export {
  type ProgressStatus,
  type ProposeResult,
  RaftNode,
  type RaftOptions,
  type RaftRefusal,
  type RaftStatus,
  type Ready,
  type RequestResult,
  refusalError,
} from './raft-node.ts';
export { compactionIndex, MemoryRaftStorage, type RaftStorage, type RaftStorageWriter } from './storage.ts';
export * from './types.ts';
