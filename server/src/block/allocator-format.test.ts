import { describe, expect, it } from 'vitest';
import {
  decodeCommit,
  decodeExtentHeader,
  decodePage,
  encodeCommit,
  encodeExtentHeader,
  encodePage,
} from './allocator-format.ts';

// Golden fixtures, format version 1: a bitmap page (64-byte block), a commit record (32-byte
// block) and an extent header. Changing any of them is a format change (new version).
const PAGE_V1 =
  '4b534b424d503031020100000000000003000000010000000000000050bdfa1a' +
  '00070e151c232a31383f464d545b626970777e858c939aa1a8afb6bdc4cbd2d9';
const COMMIT_V1 = '4b534b424d43303102010000000000000800000040e201000000000055bae6b5';
const EXTENT_V1 =
  '4b534b45585430310010000011000000e8fd0000efbeadde00000000a0a1a2a3' +
  'a4a5a6a7a8a9aaabacadaeaf000000000000000000000000000000000a530cac';

const bits = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
const owner = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);

/** Every single-bit flip of `hex` decodes to undefined (torn or damaged). */
function everyFlipRejected(hex: string, decode: (b: Uint8Array) => unknown): void {
  const good = Buffer.from(hex, 'hex');
  for (let bit = 0; bit < good.length * 8; bit++) {
    const bad = Buffer.from(good);
    bad[bit >> 3]! ^= 1 << (bit & 7);
    expect(decode(bad), `bit ${bit}`).toBeUndefined();
  }
}

describe('allocator formats v1', () => {
  it('bitmap page: golden bytes, decode, every flipped bit rejected', () => {
    const page = encodePage({ generation: 258, page: 3, copy: 1, bits }, 64);
    expect(Buffer.from(page).toString('hex')).toBe(PAGE_V1);
    expect(decodePage(Buffer.from(PAGE_V1, 'hex'))).toEqual({
      generation: 258,
      page: 3,
      copy: 1,
      bits: Buffer.from(bits),
    });
    everyFlipRejected(PAGE_V1, decodePage);
    expect(decodePage(new Uint8Array(64))).toBeUndefined();
  });

  it('commit record: golden bytes, decode, every flipped bit rejected', () => {
    const rec = { generation: 258, pageCount: 8, blocks: 123456, copy: 0 as const };
    expect(Buffer.from(encodeCommit(rec, 32)).toString('hex')).toBe(COMMIT_V1);
    expect(decodeCommit(Buffer.from(COMMIT_V1, 'hex'))).toEqual(rec);
    everyFlipRejected(COMMIT_V1, decodeCommit);
  });

  it('extent header: golden bytes, decode, every flipped bit rejected', () => {
    const h = { start: 4096, count: 17, payloadBytes: 65000, payloadCrc32c: 0xdeadbeef, owner };
    const out = new Uint8Array(64);
    encodeExtentHeader(h, out);
    expect(Buffer.from(out).toString('hex')).toBe(EXTENT_V1);
    expect(decodeExtentHeader(Buffer.from(EXTENT_V1, 'hex'))).toEqual(h);
    everyFlipRejected(EXTENT_V1, decodeExtentHeader);
  });
});
