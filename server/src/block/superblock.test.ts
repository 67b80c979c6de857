import { crc32c, KisekiError } from '@kiseki/proto';
import { describe, expect, it } from 'vitest';
import { decodeSuperblock, encodeSuperblock, SUPERBLOCK_BYTES, type Superblock } from './superblock.ts';

const SAMPLE: Superblock = {
  version: 1,
  blockSizeBytes: 4096,
  sizeBytes: 1 << 30,
  dataStartBytes: 4096,
  deviceUuid: '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0',
  createdAtMs: 1_700_000_000_000,
};

// Golden fixture: superblock format version 1. Changing it is a format change (new version).
const GOLDEN_V1 =
  '4b534b444556303101000000001000000000004000000000' +
  '00100000000000000f1e2d3c4b5a49688776a5b4c3d2e1f0' +
  '0068e5cf8b01000000000000822a84b5';

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    if (err instanceof KisekiError) return err.code;
    throw err;
  }
  return undefined;
}

describe('superblock v1', () => {
  it('encodes to the golden bytes and decodes back', () => {
    const bytes = encodeSuperblock(SAMPLE);
    expect(bytes.length).toBe(SUPERBLOCK_BYTES);
    expect(Buffer.from(bytes).toString('hex')).toBe(GOLDEN_V1);
    expect(decodeSuperblock(Buffer.from(GOLDEN_V1, 'hex'), 'dev')).toEqual(SAMPLE);
  });

  it('refuses bytes without the magic as INVAL (not a device)', () => {
    expect(codeOf(() => decodeSuperblock(new Uint8Array(64), 'dev'))).toBe('KISEKI_E_INVAL');
    expect(codeOf(() => decodeSuperblock(new Uint8Array(3), 'dev'))).toBe('KISEKI_E_INVAL');
  });

  it('refuses any single flipped bit as CORRUPT', () => {
    const good = Buffer.from(GOLDEN_V1, 'hex');
    for (let bit = 8 * 8; bit < SUPERBLOCK_BYTES * 8; bit++) {
      const bad = Buffer.from(good);
      bad[bit >> 3]! ^= 1 << (bit & 7);
      expect(
        codeOf(() => decodeSuperblock(bad, 'dev')),
        `bit ${bit}`,
      ).toBe('KISEKI_E_CORRUPT');
    }
  });

  it('refuses an unknown version as UNSUPPORTED', () => {
    const bytes = Buffer.from(encodeSuperblock(SAMPLE));
    bytes.writeUInt32LE(2, 8);
    // re-seal the checksum so only the version is wrong
    bytes.writeUInt32LE(crc32c(bytes.subarray(0, 60)), 60);
    expect(codeOf(() => decodeSuperblock(bytes, 'dev'))).toBe('KISEKI_E_UNSUPPORTED');
  });
});
