import { describe, expect, it } from 'vitest';
import { decodeBatch, encodeBatch, type GroupMessage } from './codec.ts';
import type { Entry, Index, Message, NodeId, Term } from './types.ts';

const n = (x: number) => x as NodeId;
const t = (x: number) => x as Term;
const i = (x: number) => x as Index;
const entry = (index: number, term: number, data: string, type: Entry['type'] = 'normal'): Entry => ({
  index: i(index),
  term: t(term),
  type,
  data: new Uint8Array(Buffer.from(data)),
});

const base = { from: n(1), to: n(2), term: t(2 ** 40) };
const ALL: Message[] = [
  { ...base, type: 'vote-request', pre: true, transfer: false, lastIndex: i(7), lastTerm: t(3) },
  { ...base, type: 'vote-response', pre: false, granted: true },
  {
    ...base,
    type: 'append',
    prevIndex: i(9),
    prevTerm: t(2),
    commit: i(8),
    entries: [entry(10, 3, 'a'), entry(11, 3, 'conf', 'conf-change')],
  },
  { ...base, type: 'append-response', index: i(11), reject: true, hintIndex: i(5), hintTerm: t(1) },
  { ...base, type: 'heartbeat', commit: i(11), context: undefined },
  { ...base, type: 'heartbeat-response', context: 'ctx' },
  {
    ...base,
    type: 'snapshot',
    snapshot: {
      metadata: { index: i(100), term: t(4), conf: { voters: [n(1), n(2), n(3)], learners: [n(9)] } },
      data: new Uint8Array([1, 2, 3]),
    },
  },
  { ...base, type: 'timeout-now' },
  { ...base, type: 'read-index', context: 'r1' },
  { ...base, type: 'read-index-response', context: 'r1', index: i(42) },
];

const plain = (m: unknown) =>
  JSON.parse(JSON.stringify(m, (_k, v) => (v instanceof Uint8Array ? [...v] : v)));

describe('raft wire codec', () => {
  it('round-trips every message type in one batch', () => {
    const batch: GroupMessage[] = ALL.map((message, k) => ({ group: `g${k % 3}`, message }));
    expect(plain(decodeBatch(encodeBatch(batch)))).toEqual(plain(batch));
  });

  it('golden bytes: a heartbeat batch (format v1)', () => {
    const bytes = encodeBatch([
      { group: 'g', message: { ...base, term: t(5), type: 'heartbeat', commit: i(3), context: 'c' } },
    ]);
    expect(bytes.toString('hex')).toBe(
      '01' +
        '00000001' +
        '000167' +
        '05' +
        '00000001' +
        '00000002' +
        '0000000000000005' +
        '0000000000000003' +
        '01' +
        '000163',
    );
  });

  it('hostile frames are KISEKI_E_CORRUPT, never a crash', () => {
    const good = encodeBatch(ALL.map((message) => ({ group: 'g', message })));
    for (let cut = 0; cut < good.length; cut += 7) {
      expect(() => decodeBatch(good.subarray(0, cut))).toThrow(
        expect.objectContaining({ code: 'KISEKI_E_CORRUPT' }),
      );
    }
    const bad = Buffer.from(good);
    bad[5 + 3] = 99; // first message's type code
    expect(() => decodeBatch(bad)).toThrow(expect.objectContaining({ code: 'KISEKI_E_CORRUPT' }));
    expect(() => decodeBatch(Buffer.from([2, 0, 0, 0, 0]))).toThrow(/version/);
  });
});
