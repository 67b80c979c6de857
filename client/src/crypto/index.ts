export { Keyring, type DedupMode, type EpochMaterial } from './keyring.ts';
export { entryContext, openChunk, openPayload, sealChunk, sealPayload } from './seal.ts';
