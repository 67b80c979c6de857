import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { findSignature, SIGNATURE_PROBE_BYTES } from './signatures.ts';

function head(at: number, bytes: number[] | string): Buffer {
  const b = Buffer.alloc(SIGNATURE_PROBE_BYTES);
  (typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes)).copy(b, at);
  return b;
}

describe('filesystem signatures', () => {
  it.each([
    ['ext2/3/4', head(1080, [0x53, 0xef])],
    ['XFS', head(0, 'XFSB')],
    ['btrfs', head(65600, '_BHRfS_M')],
    ['F2FS', head(1024, [0x10, 0x20, 0xf5, 0xf2])],
    ['LUKS', head(0, [0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe])],
    ['LVM2', head(512, 'LABELONE')],
    ['GPT', head(512, 'EFI PART')],
    ['swap', head(4086, 'SWAPSPACE2')],
    ['NTFS', head(3, 'NTFS    ')],
    ['FAT', head(82, 'FAT32   ')],
    ['ISO 9660', head(32769, 'CD001')],
    ['Kiseki', head(0, 'KSKDEV01')],
    ['partition table', head(510, [0x55, 0xaa])],
  ])('finds %s', (name, bytes) => {
    expect(findSignature(bytes)).toContain(name);
  });

  it('finds nothing on zeros, and probes only what a short head covers', () => {
    expect(findSignature(Buffer.alloc(SIGNATURE_PROBE_BYTES))).toBeUndefined();
    expect(findSignature(head(65600, '_BHRfS_M').subarray(0, 65536))).toBeUndefined();
    expect(findSignature(new Uint8Array(0))).toBeUndefined();
  });

  it('random data rarely looks like a filesystem (2-byte magics are the weak spot)', () => {
    let hits = 0;
    for (let i = 0; i < 200; i++) if (findSignature(randomBytes(SIGNATURE_PROBE_BYTES)) !== undefined) hits++;
    expect(hits).toBeLessThan(5);
  });
});
