/**
 * The Log context's public surface. Code outside server/src/log imports from here only.
 */
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
