import { readFileSync } from 'node:fs';
import { crc32c } from '@kiseki/native';
import { describe, expect, it } from 'vitest';
import { decodeChunk, encodeChunk } from './codec.ts';
import { decodeFragment, FRAGMENT_HEADER_BYTES } from './fragment.ts';

// Golden fixture: the six fragments (one hex line each) of a fixed 37-byte chunk under 4+2,
// fragment format version 1. It pins the header layout AND the coding matrix (ISA-L's Cauchy
// matrix): a change to either makes stored parity unreadable, so it must be a new version.
const CHUNK = Buffer.from('Kiseki fragment format v1 golden data');
const GOLDEN = readFileSync(new URL('./testdata/fragments-4+2-v1.hex', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((l) => Buffer.from(l.trim(), 'hex'));

describe('fragment format v1', () => {
  it('encodes to the golden bytes, and every 4 of the 6 golden fragments decode back', () => {
    const frags = encodeChunk(CHUNK, { k: 4, m: 2 });
    expect(frags.map((f) => Buffer.from(f).toString('hex'))).toEqual(GOLDEN.map((g) => g.toString('hex')));
    for (let a = 0; a < 6; a++) {
      for (let b = a + 1; b < 6; b++) {
        const out = decodeChunk(GOLDEN.map((g, i) => (i === a || i === b ? undefined : g)));
        expect(Buffer.from(out.chunk).equals(CHUNK), `without ${a} and ${b}`).toBe(true);
      }
    }
    const h = decodeFragment(GOLDEN[5]!, 'f5').header;
    expect(h).toEqual({
      version: 1,
      k: 4,
      m: 2,
      index: 5,
      chunkBytes: 37,
      fragmentBytes: 10,
      payloadCrc32c: h.payloadCrc32c,
      chunkCrc32c: h.chunkCrc32c,
    });
  });

  it('refuses any single flipped bit in header or payload as CORRUPT', () => {
    const good = GOLDEN[2]!;
    for (let bit = 0; bit < good.length * 8; bit++) {
      const bad = Buffer.from(good);
      bad[bit >> 3]! ^= 1 << (bit & 7);
      expect(() => decodeFragment(bad, 'f'), `bit ${bit}`).toThrow(
        expect.objectContaining({ code: 'KISEKI_E_CORRUPT' }),
      );
    }
  });

  it('refuses truncated or extended fragments and a newer version', () => {
    const good = GOLDEN[0]!;
    const corrupt = expect.objectContaining({ code: 'KISEKI_E_CORRUPT' });
    expect(() => decodeFragment(good.subarray(0, good.length - 1), 'f')).toThrow(corrupt);
    expect(() => decodeFragment(Buffer.concat([good, Buffer.alloc(1)]), 'f')).toThrow(corrupt);
    expect(() => decodeFragment(good.subarray(0, FRAGMENT_HEADER_BYTES - 1), 'f')).toThrow(corrupt);
    const v2 = Buffer.from(good);
    v2[4] = 2;
    v2.writeUInt32LE(crc32c(v2.subarray(0, 28)), 28);
    expect(() => decodeFragment(v2, 'f')).toThrow(expect.objectContaining({ code: 'KISEKI_E_UNSUPPORTED' }));
  });
});
