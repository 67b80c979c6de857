import { readFileSync } from 'node:fs';
import { crc32c } from '@kiseki/proto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeWalRecord,
  encodeWalRecords,
  parseWalRecord,
  WAL_RECORD_HEADER_BYTES,
  walRecordSize,
} from './wal-record.ts';

const FIXTURE = new URL('./fixtures/wal-record-v1.hex', import.meta.url);

function fixtureBytes(): Buffer {
  const text = readFileSync(FIXTURE, 'utf8')
    .split('\n')
    .map((l) => l.replace(/#.*$/, ''))
    .join('')
    .replace(/\s+/g, '');
  return Buffer.from(text, 'hex');
}

const SEQ = 2 ** 48 + 2;
const TERM = 3 * 2 ** 32 + 4;
const PAYLOAD = Buffer.from('delta:v1');

describe('WAL record v1', () => {
  it('format is pinned: encoding the known record gives the golden fixture', () => {
    expect(encodeWalRecord(SEQ, TERM, PAYLOAD).toString('hex')).toBe(fixtureBytes().toString('hex'));
  });

  it('format is pinned: the golden fixture decodes, field by field', () => {
    const b = fixtureBytes();
    expect(b.length).toBe(WAL_RECORD_HEADER_BYTES + 8);
    expect(b.subarray(0, 4).toString('latin1')).toBe('KWL1');
    expect(b.readUInt32LE(4)).toBe(8);
    expect(b.readUInt32LE(8)).toBe(crc32c(b.subarray(12)));
    expect(b.readBigUInt64LE(12)).toBe(BigInt(SEQ));
    expect(b.readBigUInt64LE(20)).toBe(BigInt(TERM));
    const p = parseWalRecord(b, 0);
    expect(p).toEqual({ ok: true, seq: SEQ, term: TERM, payloadLength: 8, size: 36 });
    expect(b.subarray(28).toString()).toBe('delta:v1');
  });

  it('round-trips any payloads, seqs and terms', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER - 8 }),
        fc.maxSafeNat(),
        (payloads, firstSeq, term) => {
          const total = payloads.reduce((n, p) => n + walRecordSize(p.length), 0);
          const buf = Buffer.alloc(total);
          expect(encodeWalRecords(buf, 0, firstSeq, term, payloads)).toBe(total);
          let off = 0;
          payloads.forEach((p, i) => {
            const r = parseWalRecord(buf, off);
            expect(r).toEqual({
              ok: true,
              seq: firstSeq + i,
              term,
              payloadLength: p.length,
              size: walRecordSize(p.length),
            });
            expect(Buffer.from(buf.subarray(off + 28, off + 28 + p.length))).toEqual(Buffer.from(p));
            off += walRecordSize(p.length);
          });
        },
      ),
    );
  });

  it('I-L3: any single bit flip in a record is detected', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(), fc.nat(7), (payload, at, bit) => {
        const b = encodeWalRecord(5, 1, payload);
        const i = at % b.length;
        b[i]! ^= 1 << bit;
        expect(parseWalRecord(b, 0).ok).toBe(false);
      }),
    );
  });

  it('names each defect', () => {
    const b = encodeWalRecord(1, 0, Buffer.from('hello'));
    expect(parseWalRecord(b.subarray(0, 20), 0)).toEqual({ ok: false, defect: 'short-header' });
    expect(parseWalRecord(b.subarray(0, 30), 0)).toEqual({ ok: false, defect: 'short-record' });
    const m = Buffer.from(b);
    m[0] = 0;
    expect(parseWalRecord(m, 0)).toEqual({ ok: false, defect: 'bad-magic' });
    const c = Buffer.from(b);
    c[30]! ^= 0xff;
    expect(parseWalRecord(c, 0)).toEqual({ ok: false, defect: 'bad-crc' });
  });

  it('rejects seqs and terms outside safe integers when encoding', () => {
    const out = Buffer.alloc(64);
    expect(() => encodeWalRecords(out, 0, 0, 0, [Buffer.alloc(1)])).toThrow(RangeError);
    expect(() => encodeWalRecords(out, 0, 2 ** 53, 0, [Buffer.alloc(1)])).toThrow(RangeError);
    expect(() => encodeWalRecords(out, 0, 1, -1, [Buffer.alloc(1)])).toThrow(RangeError);
  });
});
