import { describe, expect, it } from 'vitest';
import { canonicalConf } from './conf-change.ts';
import { compactionIndex, MemoryRaftStorage } from './storage.ts';
import type { Entry, Index, NodeId, Term } from './types.ts';

const e = (index: number, term: number, data = ''): Entry =>
  Object.freeze({
    index: index as Index,
    term: term as Term,
    type: 'normal',
    data: new TextEncoder().encode(data),
  });
const conf = canonicalConf([1, 2, 3] as NodeId[], []);

describe('MemoryRaftStorage', () => {
  it('starts empty with the bootstrap configuration at index 0', () => {
    const s = new MemoryRaftStorage(conf);
    expect(s.firstIndex()).toBe(1);
    expect(s.lastIndex()).toBe(0);
    expect(s.term(0 as Index)).toBe(0);
    expect(s.snapshot().metadata).toEqual({ index: 0, term: 0, conf });
    expect(s.hardState()).toEqual({ term: 0, vote: 0, commit: 0 });
  });

  it('append replaces the suffix from the first appended index', () => {
    const s = new MemoryRaftStorage(conf);
    s.append([e(1, 1), e(2, 1), e(3, 1)]);
    s.append([e(2, 2)]);
    expect(s.lastIndex()).toBe(2);
    expect(s.term(2 as Index)).toBe(2);
    expect(() => s.append([e(5, 2)])).toThrow(/gap/);
  });

  it('reads are bounded by bytes but return at least one entry', () => {
    const s = new MemoryRaftStorage(conf);
    s.append([e(1, 1, 'aaaa'), e(2, 1, 'bbbb'), e(3, 1, 'cccc')]);
    expect(s.entries(1 as Index, 4 as Index, 9).map((x) => x.index)).toEqual([1, 2]);
    expect(s.entries(1 as Index, 4 as Index, 1).map((x) => x.index)).toEqual([1]);
    expect(() => s.entries(1 as Index, 5 as Index, 100)).toThrow(/last index/);
  });

  it('I-L4: compacts only up to the latest snapshot, keeping the compaction point’s term', () => {
    const s = new MemoryRaftStorage(conf);
    s.append([e(1, 1), e(2, 1), e(3, 2), e(4, 2)]);
    expect(() => s.compact(2 as Index)).toThrow(/past the snapshot/);
    s.createSnapshot(3 as Index, conf, new Uint8Array([9]));
    s.compact(2 as Index);
    expect(s.firstIndex()).toBe(3);
    expect(s.term(2 as Index)).toBe(1);
    expect(() => s.term(1 as Index)).toThrow(/outside/);
    expect(() => s.entries(2 as Index, 3 as Index, 10)).toThrow(/compacted/);
    expect(s.snapshot().metadata).toEqual({ index: 3, term: 2, conf });
  });

  it('applySnapshot replaces the log; appends below the compaction point are skipped', () => {
    const s = new MemoryRaftStorage(conf);
    s.append([e(1, 1), e(2, 1)]);
    s.applySnapshot({ metadata: { index: 10 as Index, term: 3 as Term, conf }, data: new Uint8Array() });
    expect([s.firstIndex(), s.lastIndex(), s.term(10 as Index)]).toEqual([11, 10, 3]);
    s.append([e(9, 3), e(10, 3), e(11, 3)]);
    expect(s.lastIndex()).toBe(11);
    expect(() =>
      s.applySnapshot({ metadata: { index: 5 as Index, term: 3 as Term, conf }, data: new Uint8Array() }),
    ).toThrow(/already has a snapshot/);
  });

  it('the hard state term never goes back', () => {
    const s = new MemoryRaftStorage(conf);
    s.setHardState({ term: 3 as Term, vote: 1 as NodeId, commit: 0 as Index });
    expect(() => s.setHardState({ term: 2 as Term, vote: 1 as NodeId, commit: 0 as Index })).toThrow(
      /going back/,
    );
  });
});

describe('compactionIndex', () => {
  it('I-L4: never passes the slowest consumer nor the applied index, and keeps retain_entries', () => {
    const ix = (n: number) => n as Index;
    expect(compactionIndex({ applied: ix(100), consumers_min: ix(40), retain_entries: 10 })).toBe(30);
    expect(compactionIndex({ applied: ix(20), consumers_min: ix(90), retain_entries: 5 })).toBe(15);
    expect(compactionIndex({ applied: ix(3), consumers_min: ix(3), retain_entries: 10 })).toBe(0);
    expect(compactionIndex({ applied: ix(100), consumers_min: undefined, retain_entries: 0 })).toBe(0);
  });
});
