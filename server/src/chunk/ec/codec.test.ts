import { KisekiError } from '@kiseki/proto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeChunk, encodeChunk } from './codec.ts';
import { FRAGMENT_HEADER_BYTES } from './fragment.ts';

/** k, m within the coder's limits (kept small enough for fast runs), a chunk, and a seed for erasures. */
const caseArb = fc.record({
  k: fc.integer({ min: 1, max: 32 }),
  m: fc.integer({ min: 1, max: 16 }),
  chunk: fc.uint8Array({ maxLength: 3000 }),
  order: fc.array(fc.nat(), { minLength: 48, maxLength: 48 }),
});

/** The first `count` indexes of [0, n) in an order chosen by `order`. */
function pick(n: number, count: number, order: readonly number[]): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = order[i]! % (i + 1);
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.slice(0, count);
}

/** GF(2^8) with polynomial 0x11d, as ISA-L uses: a plain reference for the parity bytes. */
const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
for (let i = 0, x = 1; i < 255; i++, x = x & 0x80 ? ((x << 1) ^ 0x11d) & 0xff : x << 1) {
  EXP[i] = x;
  EXP[i + 255] = x;
  LOG[x] = i;
}
const gfMul = (a: number, b: number): number => (a === 0 || b === 0 ? 0 : EXP[LOG[a]! + LOG[b]!]!);
const gfInv = (a: number): number => EXP[255 - LOG[a]!]!;

describe('erasure-coded chunks (ISA-L Reed-Solomon)', () => {
  it('parity is the Cauchy code 1 / (i ^ j) over GF(2^8) (plain reference)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 6 }),
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        (k, m, chunk) => {
          const frags = encodeChunk(chunk, { k, m });
          const fb = Math.ceil(chunk.length / k);
          const data = (j: number, b: number): number => (j * fb + b < chunk.length ? chunk[j * fb + b]! : 0);
          for (let p = k; p < k + m; p++) {
            for (let b = 0; b < fb; b++) {
              let s = 0;
              for (let j = 0; j < k; j++) s ^= gfMul(gfInv(p ^ j), data(j, b));
              expect(frags[p]![FRAGMENT_HEADER_BYTES + b]).toBe(s);
            }
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('any erasure of at most m fragments gives back the bytes and rebuilds the lost fragments', () => {
    fc.assert(
      fc.property(caseArb, fc.nat(), ({ k, m, chunk, order }, lostSeed) => {
        const frags = encodeChunk(chunk, { k, m });
        expect(frags).toHaveLength(k + m);
        const lost = pick(k + m, lostSeed % (m + 1), order);
        const given = frags.map((f, i) => (lost.includes(i) ? undefined : f));
        const out = decodeChunk(given, { k, m });
        expect(Buffer.from(out.chunk).equals(Buffer.from(chunk))).toBe(true);
        expect([...out.rebuilt.keys()].sort((a, b) => a - b)).toEqual([...lost].sort((a, b) => a - b));
        for (const [i, f] of out.rebuilt) expect(Buffer.from(f).equals(Buffer.from(frags[i]!))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('more than m erasures is a clear UNAVAILABLE error', () => {
    fc.assert(
      fc.property(caseArb, fc.nat(), ({ k, m, chunk, order }, extra) => {
        const frags = encodeChunk(chunk, { k, m });
        const lostCount = m + 1 + (extra % k);
        const lost = pick(k + m, lostCount, order);
        let err: unknown;
        try {
          decodeChunk(
            frags.map((f, i) => (lost.includes(i) ? undefined : f)),
            { k, m },
          );
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(KisekiError);
        expect((err as KisekiError).code).toBe('KISEKI_E_UNAVAILABLE');
        expect((err as KisekiError).message).toContain(`needs ${k}`);
      }),
      { numRuns: 200 },
    );
  });

  it('a flipped bit anywhere in up to m fragments is detected and repaired, never returned', () => {
    fc.assert(
      fc.property(
        caseArb,
        fc.array(fc.nat(), { minLength: 16, maxLength: 16 }),
        ({ k, m, chunk, order }, bits) => {
          const frags = encodeChunk(chunk, { k, m }).map((f) => Buffer.from(f));
          const hit = pick(k + m, 1 + (bits[0]! % m), order);
          hit.forEach((i, j) => {
            const f = frags[i]!;
            const bit = bits[j % bits.length]! % (f.length * 8);
            f[bit >> 3]! ^= 1 << (bit & 7);
          });
          const out = decodeChunk(frags);
          expect(Buffer.from(out.chunk).equals(Buffer.from(chunk))).toBe(true);
          expect(out.bad.map((b) => b.index).sort((a, b) => a - b)).toEqual([...hit].sort((a, b) => a - b));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a fragment of another chunk or in the wrong slot counts as missing', () => {
    const a = encodeChunk(Buffer.from('the first chunk of ciphertext'), { k: 4, m: 2 });
    const b = encodeChunk(Buffer.from('another chunk, same length!!!'), { k: 4, m: 2 });
    const out = decodeChunk([a[0], b[1], a[2], a[3], a[4], a[1]]);
    expect(Buffer.from(out.chunk).toString()).toBe('the first chunk of ciphertext');
    expect(out.bad.map((x) => x.index).sort()).toEqual([1, 5]);
    // Three of b among a's: still too many bad for 4+2.
    expect(() => decodeChunk([b[0], b[1], b[2], a[3], a[4], a[5]])).toThrow(
      expect.objectContaining({ code: 'KISEKI_E_UNAVAILABLE' }),
    );
  });

  it('a pool policy mismatch and bad policies are refused', () => {
    const frags = encodeChunk(Buffer.from('x'.repeat(100)), { k: 3, m: 2 });
    expect(() => decodeChunk(frags, { k: 4, m: 2 })).toThrow(
      expect.objectContaining({ code: 'KISEKI_E_UNAVAILABLE' }),
    );
    expect(() => encodeChunk(Buffer.alloc(1), { k: 0, m: 2 })).toThrow(
      expect.objectContaining({ code: 'KISEKI_E_INVAL' }),
    );
    expect(() => encodeChunk(Buffer.alloc(1), { k: 33, m: 2 })).toThrow(
      expect.objectContaining({ code: 'KISEKI_E_INVAL' }),
    );
    expect(() => encodeChunk(Buffer.alloc(1), { k: 4, m: 17 })).toThrow(
      expect.objectContaining({ code: 'KISEKI_E_INVAL' }),
    );
    expect(() => encodeChunk(Buffer.alloc(1), { k: 4, m: 0 })).toThrow(
      expect.objectContaining({ code: 'KISEKI_E_INVAL' }),
    );
  });

  it('fragments are ceil(len / k) bytes of payload after a 32-byte header', () => {
    const frags = encodeChunk(new Uint8Array(1 << 20), { k: 4, m: 2 });
    for (const f of frags) expect(f.length).toBe(FRAGMENT_HEADER_BYTES + (1 << 18));
  });
});
