/** Branded ids: one can't be passed where another is expected. */
declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

export type TenantId = Brand<string, 'TenantId'>;
export type ShardId = Brand<string, 'ShardId'>;
/** 32-byte chunk id as lowercase hex (SHA-256 or HMAC-SHA-256 of the plaintext, I-X2). */
export type ChunkIdHex = Brand<string, 'ChunkIdHex'>;
/** Inode number within a tenant namespace; 1 is the root. */
export type Ino = Brand<number, 'Ino'>;
/** Position of a delta in its shard's total order (I-L1), starting at 1. */
export type Seq = Brand<number, 'Seq'>;

export const ROOT_INO = 1 as Ino;
const TENANT_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
const CHUNK_RE = /^[0-9a-f]{64}$/;

export function tenantId(s: string): TenantId {
  if (!TENANT_RE.test(s)) throw new TypeError(`invalid tenant name '${s}': use 1-63 of a-z, 0-9, '-'`);
  return s as TenantId;
}
export function isTenantId(s: string): s is TenantId {
  return TENANT_RE.test(s);
}
export function chunkIdHex(b: Uint8Array): ChunkIdHex {
  if (b.length !== 32) throw new TypeError(`chunk id must be 32 bytes, got ${b.length}`);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex') as ChunkIdHex;
}
export function isChunkIdHex(s: string): s is ChunkIdHex {
  return CHUNK_RE.test(s);
}
export function shardId(s: string): ShardId {
  return s as ShardId;
}
