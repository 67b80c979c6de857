/**
 * The Log context's public surface. Code outside server/src/log imports from here only.
 */

export { RawUnaryClient } from './raft-admin-client.ts';
export { RaftHost, type RaftHostOptions } from './raft-host.ts';
export { RaftShardLog, type RaftShardLogOptions } from './raft-shard-log.ts';
export { RAFT_SERVICE } from './raft-transport.ts';
export {
  type LogEntry,
  type LogSink,
  openSingleReplicaLog,
  type ShardLog,
  SingleReplicaLog,
  type SingleReplicaLogOptions,
} from './shard-log.ts';
export { Wal, type WalEntry, type WalOptions, type WalStats } from './wal.ts';
export { formatWalRecovery, type WalRecoveryReason, type WalRecoveryReport } from './wal-recovery.ts';
