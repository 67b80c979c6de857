import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeTtlv, encodeTtlv, enumeration, int, struct, type Ttlv, TtlvError } from './ttlv.ts';

const hex = (s: string) => Buffer.from(s.replace(/[\s|]/g, ''), 'hex');

/** The encoding examples of the KMIP specification (KMIP 1.x §9.1.2, unchanged in 2.0). */
const SPEC_VECTORS: Array<[string, Ttlv, string]> = [
  ['Integer 8', int(0x420020, 8), '42 00 20 | 02 | 00 00 00 04 | 00 00 00 08 00 00 00 00'],
  [
    'Long Integer 123456789000000000',
    { tag: 0x420020, type: 'long', value: 123456789000000000n },
    '42 00 20 | 03 | 00 00 00 08 | 01 B6 9B 4B A5 74 92 00',
  ],
  ['Enumeration 255', enumeration(0x420020, 255), '42 00 20 | 05 | 00 00 00 04 | 00 00 00 FF 00 00 00 00'],
  [
    'Boolean true',
    { tag: 0x420020, type: 'boolean', value: true },
    '42 00 20 | 06 | 00 00 00 08 | 00 00 00 00 00 00 00 01',
  ],
  [
    'Text String "Hello World"',
    { tag: 0x420020, type: 'text', value: 'Hello World' },
    '42 00 20 | 07 | 00 00 00 0B | 48 65 6C 6C 6F 20 57 6F 72 6C 64 00 00 00 00 00',
  ],
  [
    'Byte String 01 02 03',
    { tag: 0x420020, type: 'bytes', value: Buffer.from([1, 2, 3]) },
    '42 00 20 | 08 | 00 00 00 03 | 01 02 03 00 00 00 00 00',
  ],
  [
    'Date-Time 2008-03-14 11:56:40 GMT',
    { tag: 0x420020, type: 'datetime', value: 0x47da67f8n },
    '42 00 20 | 09 | 00 00 00 08 | 00 00 00 00 47 DA 67 F8',
  ],
  [
    'Interval 10 days',
    { tag: 0x420020, type: 'interval', value: 864000 },
    '42 00 20 | 0A | 00 00 00 04 | 00 0D 2F 00 00 00 00 00',
  ],
  [
    'Structure of Enumeration 254 and Integer 255',
    struct(0x420020, [enumeration(0x420004, 254), int(0x420005, 255)]),
    '42 00 20 | 01 | 00 00 00 20 | 42 00 04 | 05 | 00 00 00 04 | 00 00 00 FE 00 00 00 00 | 42 00 05 | 02 | 00 00 00 04 | 00 00 00 FF 00 00 00 00',
  ],
];

describe('KMIP TTLV codec', () => {
  for (const [name, item, bytes] of SPEC_VECTORS) {
    it(`matches the KMIP spec example: ${name}`, () => {
      expect(encodeTtlv(item).toString('hex')).toBe(hex(bytes).toString('hex'));
      expect(decodeTtlv(hex(bytes))).toEqual(item);
    });
  }

  it('a text string that is not UTF-8 is a TtlvError, not a TypeError', () => {
    const bad = Buffer.from('4200200700000002ffff000000000000', 'hex');
    expect(() => decodeTtlv(bad)).toThrow(TtlvError);
  });

  it('refuses hostile input: truncation, bad padding, overlong children, deep nesting', () => {
    const good = hex(SPEC_VECTORS[8]![2]);
    for (let cut = 1; cut < good.length; cut += 5)
      expect(() => decodeTtlv(good.subarray(0, cut))).toThrow(TtlvError);
    const badPad = hex(SPEC_VECTORS[0]![2]);
    badPad[15] = 1;
    expect(() => decodeTtlv(badPad)).toThrow(/padding/);
    const overlong = Buffer.from(good);
    overlong.writeUInt32BE(0x100, 12);
    expect(() => decodeTtlv(overlong)).toThrow(TtlvError);
    let deep: Ttlv = int(0x420001, 1);
    for (let i = 0; i < 20; i++) deep = struct(0x420001, [deep]);
    expect(() => decodeTtlv(encodeTtlv(deep))).toThrow(/deep/);
  });

  it('round-trips arbitrary trees and never throws anything but TtlvError on random bytes', () => {
    const leaf = fc.oneof(
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((v) => int(0x420100, v)),
      fc.string().map((v): Ttlv => ({ tag: 0x420101, type: 'text', value: v })),
      fc
        .uint8Array({ maxLength: 40 })
        .map((v): Ttlv => ({ tag: 0x420102, type: 'bytes', value: Buffer.from(v) })),
      fc
        .bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
        .map((v): Ttlv => ({ tag: 0x420103, type: 'long', value: v })),
    );
    const tree = fc.letrec<{ t: Ttlv }>((tie) => ({
      t: fc.oneof(
        { depthSize: 'small' },
        leaf,
        fc.array(tie('t'), { maxLength: 4 }).map((c) => struct(0x420104, c)),
      ),
    })).t;
    fc.assert(
      fc.property(tree, (t) => {
        expect(decodeTtlv(encodeTtlv(t))).toEqual(t);
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        try {
          decodeTtlv(Buffer.from(b));
        } catch (err) {
          expect(err).toBeInstanceOf(TtlvError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
