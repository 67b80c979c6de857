import { crc32c as js } from '@kiseki/proto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c, nativeCrc32c } from './index.ts';

describe('native crc32c', () => {
  it('is built here and matches the JavaScript implementation', () => {
    // CI builds the addon (scripts/bootstrap.sh); a silent fallback would hide a slow server.
    expect(nativeCrc32c).not.toBe('javascript');
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), fc.nat(5000), (data, cut) => {
        const c = Math.min(cut, data.length);
        expect(crc32c(data)).toBe(js(data));
        expect(crc32c(data.subarray(c), crc32c(data.subarray(0, c)))).toBe(js(data));
      }),
    );
  });
});
