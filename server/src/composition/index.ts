export {
  type HeldLock,
  LOCK_LEASE_MS_DEFAULT,
  type LockKind,
  type LockRange,
  type LockRequest,
  LockTable,
  type LockType,
} from './locks.ts';
export { type ChunkPresence, type MutateResult, NamespaceShard } from './namespace.ts';
