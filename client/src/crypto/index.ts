export { type ChunkKeyMaterial, ChunkKeys, type ChunkSealKeys, wipeMaterial } from './chunk-keys.ts';
export { type DedupMode, type EpochMaterial, Keyring } from './keyring.ts';
export { entryContext, openChunk, openPayload, sealChunk, sealPayload, xattrContext } from './seal.ts';
