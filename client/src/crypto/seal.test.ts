import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  DeltaHeaderCodec,
  decodeDeltaEnvelope,
  encodeDeltaEnvelope,
  KisekiError,
  parseChunkEnvelope,
} from '@kiseki/proto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Keyring } from './keyring.ts';
import { entryContext, openChunk, openPayload, sealChunk, sealPayload } from './seal.ts';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/', import.meta.url));

/** Golden fixture: compare with the checked-in hex; write it only when UPDATE_FIXTURES=1. */
function golden(name: string, bytes: Uint8Array): void {
  const path = `${FIXTURES}${name}.hex`;
  const hex = Buffer.from(bytes).toString('hex');
  if (process.env.UPDATE_FIXTURES === '1') writeFileSync(path, `${hex}\n`);
  expect(readFileSync(path, 'utf8').trim()).toBe(hex);
}

function keyring(seed: number, dedup: 'tenant' | 'global' = 'tenant'): Keyring {
  return new Keyring(
    [{ epoch: 1, tenantKey: Buffer.alloc(32, seed), systemPart: Buffer.alloc(32, seed + 100) }],
    1,
    dedup,
    60_000,
  );
}

describe('chunk envelope v1', () => {
  it('I-K7: seals and opens, and matches the golden vector', () => {
    const k = keyring(1);
    const pt = Buffer.from('kiseki golden chunk plaintext');
    const id = k.chunkId(pt);
    const env = sealChunk(k, id, pt, { nonce: Buffer.alloc(12, 7) });
    golden('chunk-envelope-v1', env);
    expect(openChunk(k, id, env).equals(pt)).toBe(true);
    expect(parseChunkEnvelope(env).plaintextBytes).toBe(pt.length);
  });

  it('I-K7: any flipped bit fails authentication, never returns altered plaintext', () => {
    const k = keyring(2);
    const pt = Buffer.from('some chunk content that matters');
    const id = k.chunkId(pt);
    const env = sealChunk(k, id, pt);
    fc.assert(
      fc.property(fc.nat(env.length * 8 - 1), (bit) => {
        const bad = Buffer.from(env);
        bad[bit >> 3]! ^= 1 << (bit & 7);
        expect(() => openChunk(k, id, bad)).toThrow(KisekiError);
      }),
      { numRuns: 300 },
    );
  });

  it('I-K17: a chunk sealed for one id cannot be served as another', () => {
    const k = keyring(3);
    const a = Buffer.from('aaaa');
    const b = Buffer.from('bbbb');
    const envA = sealChunk(k, k.chunkId(a), a);
    expect(() => openChunk(k, k.chunkId(b), envA)).toThrow(/different chunk/);
  });

  it('I-T1: another tenant’s keys cannot open the chunk', () => {
    const a = keyring(4);
    const b = keyring(5);
    const pt = Buffer.from('tenant a secret');
    const id = a.chunkId(pt);
    expect(() => openChunk(b, id, sealChunk(a, id, pt))).toThrow(/authentication/);
  });

  it('I-T4: the system part alone or the tenant part alone does not derive the DEK', () => {
    const full = keyring(6);
    const noSystem = new Keyring(
      [{ epoch: 1, tenantKey: Buffer.alloc(32, 6), systemPart: Buffer.alloc(32, 0) }],
      1,
      'tenant',
      1000,
    );
    const noTenant = new Keyring(
      [{ epoch: 1, tenantKey: Buffer.alloc(32, 0), systemPart: Buffer.alloc(32, 106) }],
      1,
      'tenant',
      1000,
    );
    const id = Buffer.alloc(32, 9);
    expect(full.chunkDek(id, 1).equals(noSystem.chunkDek(id, 1))).toBe(false);
    expect(full.chunkDek(id, 1).equals(noTenant.chunkDek(id, 1))).toBe(false);
  });

  it('I-X2: chunk ids follow the dedup policy', () => {
    const pt = Buffer.from('same bytes');
    expect(keyring(7, 'global').chunkId(pt).equals(keyring(8, 'global').chunkId(pt))).toBe(true);
    expect(keyring(7).chunkId(pt).equals(keyring(8).chunkId(pt))).toBe(false);
  });
});

describe('sealed payload v1 and delta envelope v1', () => {
  it('I-L7: header is system-readable, payload only with tenant keys; golden vectors', () => {
    const k = keyring(10);
    const token = k.nameToken(1, 'secret-name.txt');
    const ctx = entryContext('default', 1, token);
    const sealed = sealPayload(k, Buffer.from('secret-name.txt'), ctx, { nonce: Buffer.alloc(12, 3) });
    golden('sealed-payload-v1', sealed);
    const header = DeltaHeaderCodec.encode({
      version: 1,
      tenant: 'default',
      time: { sec: 1_700_000_000, nsec: 5 },
      create: { parent: 1, nameToken: token, kind: 'FILE_KIND_FILE', mode: 0o644, uid: 0, gid: 0, ino: 2 },
    });
    const env = encodeDeltaEnvelope({ header, payload: sealed });
    golden('delta-envelope-v1', env);
    const back = decodeDeltaEnvelope(env);
    const h = DeltaHeaderCodec.decode(back.header);
    expect(h.op).toBe('create');
    expect(h.create?.ino).toBe(2);
    expect(h.create?.kind).toBe('FILE_KIND_FILE');
    expect(openPayload(k, back.payload, ctx).toString()).toBe('secret-name.txt');
    expect(env.includes(Buffer.from('secret-name'))).toBe(false);
    // moved to another entry, the sealed name no longer opens
    expect(() => openPayload(k, back.payload, entryContext('default', 2, token))).toThrow(/authentication/);
  });
});
