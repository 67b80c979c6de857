/** Chunk Storage context (I-C1..I-C8): the single-node chunk store and its HTTP transport. */
export {
  type ChunkHttpLogEntry,
  type ChunkHttpOptions,
  type ChunkStoreApi,
  createChunkHttpHandler,
  HAS_IDS_MAX_DEFAULT,
} from './http.ts';
export {
  type ChunkInfo,
  ChunkStore,
  type ChunkStoreOptions,
  type ChunkStoreStats,
  CRITICAL_RATIO_DEFAULT,
  ENVELOPE_BYTES_MAX,
  ENVELOPE_BYTES_MIN,
  type FaultPoint,
  INFLIGHT_BYTES_MAX_DEFAULT,
  type OpenReport,
} from './store.ts';
