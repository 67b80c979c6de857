import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkKvHistory, type KvOperation } from './linearizability.ts';

const put = (client: number, value: string, call: number, ret: number, key = 'k'): KvOperation => ({
  client,
  key,
  kind: 'put',
  value,
  call,
  ret,
});
const get = (client: number, value: string | null, call: number, ret: number, key = 'k'): KvOperation => ({
  client,
  key,
  kind: 'get',
  value,
  call,
  ret,
});
const INF = Number.POSITIVE_INFINITY;

describe('linearizability checker (register per key)', () => {
  it('accepts a sequential history and concurrent operations in either order', () => {
    expect(checkKvHistory([put(1, 'a', 0, 1), get(2, 'a', 2, 3)]).outcome).toBe('ok');
    // A read overlapping a write may see the old or the new value.
    expect(checkKvHistory([put(1, 'a', 0, 10), get(2, null, 1, 2)]).outcome).toBe('ok');
    expect(checkKvHistory([put(1, 'a', 0, 10), get(2, 'a', 1, 2)]).outcome).toBe('ok');
  });

  it('rejects a stale read after a completed write', () => {
    const r = checkKvHistory([put(1, 'a', 0, 1), put(1, 'b', 2, 3), get(2, 'a', 4, 5)]);
    expect(r.outcome).toBe('illegal');
  });

  it('rejects reads that go back in time across clients', () => {
    // Both writes overlap both reads, but once one reader saw b then a, no order explains it.
    const r = checkKvHistory([
      put(1, 'a', 0, 100),
      put(2, 'b', 0, 100),
      get(3, 'b', 10, 20),
      get(3, 'a', 30, 40),
      get(4, 'a', 10, 20),
      get(4, 'b', 30, 40),
    ]);
    expect(r.outcome).toBe('illegal');
  });

  it('rejects a read of a value nobody wrote', () => {
    expect(checkKvHistory([get(1, 'ghost', 0, 1)]).outcome).toBe('illegal');
  });

  it('a put of unknown outcome may take effect late or never', () => {
    expect(checkKvHistory([put(1, 'a', 0, INF), get(2, null, 5, 6), get(2, 'a', 7, 8)]).outcome).toBe('ok');
    expect(checkKvHistory([put(1, 'a', 0, INF), get(2, null, 5, 6)]).outcome).toBe('ok');
    // …but not before it was called.
    expect(checkKvHistory([get(2, 'a', 0, 1), put(1, 'a', 2, INF)]).outcome).toBe('illegal');
    // …and once seen it can't be unseen (no other write to go back to).
    expect(checkKvHistory([put(1, 'a', 0, INF), get(2, 'a', 5, 6), get(2, null, 7, 8)]).outcome).toBe(
      'illegal',
    );
  });

  it('checks keys independently', () => {
    const r = checkKvHistory([
      put(1, 'a', 0, 1, 'x'),
      get(2, null, 2, 3, 'y'),
      get(2, 'b', 4, 5, 'y'),
      put(3, 'b', 0, 1, 'y'),
    ]);
    expect(r.outcome).toBe('illegal');
    if (r.outcome === 'illegal') expect(r.key).toBe('y');
  });

  it('any history produced by a sequential register with random overlaps is accepted', () => {
    // Generate a true execution: operations take effect at distinct points inside [call, ret].
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ put: fc.boolean(), before: fc.nat(5), after: fc.nat(5), unknown: fc.boolean() }),
          {
            minLength: 1,
            maxLength: 40,
          },
        ),
        (spec) => {
          let state: string | null = null;
          const ops: KvOperation[] = spec.map((s, i) => {
            const at = 10 * (i + 1);
            if (s.put) {
              state = `v${i}`;
              return put(i % 4, state, at - s.before, s.unknown ? INF : at + s.after + 1);
            }
            return get(i % 4, state, at - s.before, at + s.after + 1);
          });
          expect(checkKvHistory(ops).outcome).toBe('ok');
        },
      ),
      { numRuns: 200 },
    );
  });

  it('gives up (outcome unknown) instead of searching forever', () => {
    const ops: KvOperation[] = [];
    for (let i = 0; i < 30; i++) ops.push(put(i, `v${i}`, 0, 1000));
    for (let i = 0; i < 30; i++) ops.push(get(100 + i, `v${29 - i}`, 0, 1000));
    ops.push(get(200, 'v0', 2000, 2001), get(201, 'v1', 2002, 2003));
    expect(checkKvHistory(ops, { search_steps_max: 1000 }).outcome).toBe('unknown');
  });
});
