import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { alignedBuffer, EC_K_MAX, EC_M_MAX, ecEncode, ecReconstruct, nativeEc } from './index.ts';

describe('native erasure coding (ISA-L) and aligned memory', () => {
  it('is built here', () => {
    // CI installs libisal-dev (scripts/bootstrap.sh); there is no JavaScript fallback.
    expect(nativeEc).toBe(true);
  });

  it('rebuilds any m lost fragments at the largest code', () => {
    const k = EC_K_MAX;
    const m = EC_M_MAX;
    const data = Array.from({ length: k }, () => randomBytes(64));
    const parity = Array.from({ length: m }, () => Buffer.alloc(64));
    ecEncode(k, m, data, parity);
    const all = [...data, ...parity];
    const frags = all.map((b) => Buffer.from(b));
    const missing = [0, 5, 31, 32, 40, 47, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11];
    for (const i of missing) frags[i]!.fill(0xee);
    ecReconstruct(k, m, frags, missing);
    for (const [i, f] of frags.entries()) expect(f.equals(all[i]!), `fragment ${i}`).toBe(true);
  });

  it('refuses bad arguments with RangeError instead of touching memory', () => {
    const b = Buffer.alloc(8);
    expect(() => ecEncode(0, 2, [], [b, b])).toThrow(RangeError);
    expect(() => ecEncode(2, 2, [b, Buffer.alloc(9)], [b, b])).toThrow(/one length/);
    expect(() => ecEncode(2, 2, [b, b], [b])).toThrow(RangeError);
    expect(() => ecReconstruct(2, 1, [b, b, b], [0, 1])).toThrow(/more fragments missing than m/);
    expect(() => ecReconstruct(2, 1, [b, b, b], [3])).toThrow(RangeError);
    expect(() => ecReconstruct(2, 2, [b, b, b, b], [1, 1])).toThrow(/distinct/);
    expect(() => alignedBuffer(4096, 100)).toThrow(RangeError);
  });

  it('alignedBuffer is zeroed (alignment is proven by O_DIRECT I/O in block/direct-device.test.ts)', () => {
    const a = alignedBuffer(1 << 20, 4096);
    expect(a.length).toBe(1 << 20);
    expect(a.every((x) => x === 0)).toBe(true);
  });
});
