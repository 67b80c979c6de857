export { type DedupMode, type EpochMaterial, Keyring } from './keyring.ts';
export { entryContext, openChunk, openPayload, sealChunk, sealPayload } from './seal.ts';
