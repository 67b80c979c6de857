import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { capacityState } from './capacity.ts';
import {
  createPool,
  currentPolicy,
  formatPolicy,
  parsePolicy,
  piecesOf,
  policyAt,
  setDurability,
  spaceFactor,
  toleratedLosses,
} from './policy.ts';

const inval = expect.objectContaining({ code: 'KISEKI_E_INVAL' });

describe('durability policies and pools', () => {
  it('parses and prints ec:K+M and replicas:N, refusing anything else with a hint', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 32 }), fc.integer({ min: 1, max: 16 }), (k, m) => {
        expect(parsePolicy(formatPolicy({ kind: 'ec', k, m }))).toEqual({ kind: 'ec', k, m });
      }),
    );
    expect(parsePolicy('replicas:3')).toEqual({ kind: 'replicas', copies: 3 });
    for (const bad of ['ec:0+2', 'ec:33+1', 'ec:4+17', 'ec:4', 'replicas:0', 'replicas:9', 'raid5', '']) {
      expect(() => parsePolicy(bad), bad).toThrow(inval);
    }
    expect(() => parsePolicy('raid5')).toThrow(/e\.g\. ec:4\+2 or replicas:3/);
  });

  it('counts pieces, tolerated losses and space', () => {
    expect([piecesOf({ kind: 'ec', k: 4, m: 2 }), toleratedLosses({ kind: 'ec', k: 4, m: 2 })]).toEqual([
      6, 2,
    ]);
    expect(spaceFactor({ kind: 'ec', k: 4, m: 2 })).toBe(1.5);
    expect([
      piecesOf({ kind: 'replicas', copies: 3 }),
      toleratedLosses({ kind: 'replicas', copies: 3 }),
    ]).toEqual([3, 2]);
  });

  it('I-C6: a new durability policy applies to new chunks only; old epochs keep theirs', () => {
    const p1 = createPool('fast', 'ssd');
    expect(currentPolicy(p1)).toEqual({ epoch: 1, policy: { kind: 'ec', k: 4, m: 2 } });
    const p2 = setDurability(p1, { kind: 'replicas', copies: 3 });
    expect(currentPolicy(p2)).toEqual({ epoch: 2, policy: { kind: 'replicas', copies: 3 } });
    expect(policyAt(p2, 1)).toEqual({ kind: 'ec', k: 4, m: 2 }); // chunks written in epoch 1
    expect(p1.policies).toHaveLength(1); // not mutated
    expect(() => policyAt(p2, 3)).toThrow(expect.objectContaining({ code: 'KISEKI_E_CORRUPT' }));
    expect(() => setDurability(p2, { kind: 'ec', k: 0, m: 1 })).toThrow(inval);
    expect(() => createPool('Bad Name', 'ssd')).toThrow(inval);
  });

  it('I-C5: capacity states by device class (SSD Critical at 85%, HDD at 92%, Full when a write does not fit)', () => {
    expect(capacityState(74, 100, 'ssd')).toBe('ok');
    expect(capacityState(75, 100, 'ssd')).toBe('warning');
    expect(capacityState(85, 100, 'ssd')).toBe('critical');
    expect(capacityState(85, 100, 'hdd')).toBe('warning');
    expect(capacityState(92, 100, 'hdd')).toBe('critical');
    expect(capacityState(95, 100, 'hdd', 6)).toBe('full');
    expect(capacityState(0, 0, 'ssd')).toBe('full');
  });
});
