export { type ChunkPresence, type MutateResult, NamespaceShard } from './namespace.ts';
