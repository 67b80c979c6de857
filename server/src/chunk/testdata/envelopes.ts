/** Deterministic test envelopes and content-derived chunk ids, shared by tests and child processes. */
import { createHash } from 'node:crypto';
import type { ChunkIdHex, TenantId } from '@kiseki/proto';

export const TENANT = 'acme' as TenantId;

/** `lengthBytes` pseudo-random bytes from `seed` (xorshift32; fast, reproducible). */
export function envelope(seed: number, lengthBytes: number): Buffer {
  const out = Buffer.allocUnsafe(lengthBytes);
  let x = (seed * 2654435761 + 1) >>> 0 || 1;
  let i = 0;
  for (; i + 4 <= lengthBytes; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32LE(x >>> 0, i);
  }
  for (; i < lengthBytes; i++) out[i] = (x >>> (8 * (i & 3))) & 0xff;
  return out;
}

export function idOf(bytes: Uint8Array): ChunkIdHex {
  return createHash('sha256').update(bytes).digest('hex') as ChunkIdHex;
}

/** The envelope length the kill test uses for seed i: 80 B .. ~300 KiB, some block-exact. */
export function lengthFor(seed: number): number {
  return seed % 5 === 0 ? 4096 * (1 + (seed % 7)) : 80 + ((seed * 7919) % 300_000);
}
