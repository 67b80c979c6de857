import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyConfChange,
  type ConfChangeKind,
  canonicalConf,
  decodeConfChange,
  encodeConfChange,
  quorumSize,
} from './conf-change.ts';
import type { NodeId } from './types.ts';

const ids = (...xs: number[]) => xs as NodeId[];

describe('membership changes, one node at a time', () => {
  it('adds a learner, promotes it, removes a node; refuses changes that do not apply', () => {
    const c0 = canonicalConf(ids(3, 1, 2), []);
    expect(c0).toEqual({ voters: [1, 2, 3], learners: [] });
    const c1 = applyConfChange(c0, { kind: 'add-learner', node: 4 as NodeId })!;
    expect(c1).toEqual({ voters: [1, 2, 3], learners: [4] });
    const c2 = applyConfChange(c1, { kind: 'promote', node: 4 as NodeId })!;
    expect(c2).toEqual({ voters: [1, 2, 3, 4], learners: [] });
    expect(applyConfChange(c2, { kind: 'remove', node: 1 as NodeId })).toEqual({
      voters: [2, 3, 4],
      learners: [],
    });
    expect(applyConfChange(c2, { kind: 'promote', node: 4 as NodeId })).toBeUndefined();
    expect(applyConfChange(c2, { kind: 'add-learner', node: 2 as NodeId })).toBeUndefined();
    expect(applyConfChange(c2, { kind: 'remove', node: 9 as NodeId })).toBeUndefined();
  });

  it('any single change keeps every old majority overlapping every new majority', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 7 }),
        fc.constantFrom<ConfChangeKind>('add-learner', 'promote', 'remove'),
        fc.integer({ min: 1, max: 10 }),
        (voters, kind, node) => {
          const base = canonicalConf(voters as NodeId[], node === 10 ? [10 as NodeId] : []);
          const next = applyConfChange(base, { kind, node: node as NodeId });
          if (next === undefined || next.voters.length === 0) return;
          const q0 = quorumSize(base.voters.length);
          const q1 = quorumSize(next.voters.length);
          // The smallest overlap of an old and a new majority is q0 + q1 - |old ∪ new|.
          const union = new Set([...base.voters, ...next.voters]).size;
          expect(q0 + q1 - union).toBeGreaterThanOrEqual(1);
        },
      ),
    );
  });
});

describe('conf-change entry format v1', () => {
  it('round-trips any configuration', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 0xffff_ffff }), { minLength: 1, maxLength: 20 }),
        fc.nat(),
        (members, split) => {
          const cut = 1 + (split % members.length);
          const conf = canonicalConf(members.slice(0, cut) as NodeId[], members.slice(cut) as NodeId[]);
          const node = conf.voters[0]!;
          const bytes = encodeConfChange({ change: { kind: 'promote', node }, conf });
          expect(decodeConfChange(bytes)).toEqual({ change: { kind: 'promote', node }, conf });
        },
      ),
    );
  });

  it('is pinned: golden bytes for "add learner 4 to {1,2,3}"', () => {
    const bytes = encodeConfChange({
      change: { kind: 'add-learner', node: 4 as NodeId },
      conf: canonicalConf(ids(1, 2, 3), ids(4)),
    });
    expect(Buffer.from(bytes).toString('hex')).toBe(
      '0101' + '00000004' + '0003' + '00000001' + '00000002' + '00000003' + '0001' + '00000004',
    );
  });

  it('a malformed entry is corruption: decoding throws', () => {
    const good = encodeConfChange({
      change: { kind: 'remove', node: 3 as NodeId },
      conf: canonicalConf(ids(1, 2), []),
    });
    expect(() => decodeConfChange(good.subarray(0, good.length - 1))).toThrow(/truncated/);
    const badVersion = Uint8Array.from(good);
    badVersion[0] = 2;
    expect(() => decodeConfChange(badVersion)).toThrow(/version 2/);
    const badKind = Uint8Array.from(good);
    badKind[1] = 9;
    expect(() => decodeConfChange(badKind)).toThrow(/kind 9/);
    // "remove 1" whose resulting configuration still lists 1.
    const lying = encodeConfChange({
      change: { kind: 'remove', node: 1 as NodeId },
      conf: canonicalConf(ids(1, 2), []),
    });
    expect(() => decodeConfChange(lying)).toThrow(/still a member/);
  });
});
