import { describe, expect, it } from 'vitest';
import { canonicalConf } from './conf-change.ts';
import { RaftLog } from './raft-log.ts';
import { MemoryRaftStorage } from './storage.ts';
import type { Entry, Index, NodeId, Snapshot, Term } from './types.ts';

const e = (index: number, term: number, data = 'x'): Entry =>
  Object.freeze({
    index: index as Index,
    term: term as Term,
    type: 'normal',
    data: new TextEncoder().encode(data),
  });
const ix = (n: number) => n as Index;
const tm = (n: number) => n as Term;
const conf = canonicalConf([1, 2, 3] as NodeId[], []);

function logWith(stable: Entry[], unstable: Entry[] = []): { log: RaftLog; storage: MemoryRaftStorage } {
  const storage = new MemoryRaftStorage(conf);
  storage.append(stable);
  const log = new RaftLog(storage);
  log.append(unstable);
  return { log, storage };
}

describe('RaftLog: stable storage plus the unstable tail', () => {
  it('reads across storage and unstable entries, bounded by bytes', () => {
    const { log } = logWith([e(1, 1), e(2, 1)], [e(3, 2), e(4, 2)]);
    expect(log.lastIndex()).toBe(4);
    expect(log.slice(ix(1), ix(5), 100)).toHaveLength(4);
    expect((log.slice(ix(2), ix(5), 2) as Entry[]).map((x) => x.index)).toEqual([2, 3]);
    expect(log.unstableEntries().map((x) => x.index)).toEqual([3, 4]);
    expect(log.term(ix(3))).toBe(2);
    expect(log.term(ix(5))).toBeUndefined();
  });

  it('a conflicting append replaces the unstable and (once persisted) the stored suffix', () => {
    const { log, storage } = logWith([e(1, 1), e(2, 1), e(3, 1)]);
    log.append([e(2, 2)]);
    expect(log.lastIndex()).toBe(2);
    expect(log.term(ix(2))).toBe(2);
    // Storage still holds the old 2@1 and 3@1 until the Ready is persisted; reads don't see them.
    expect(storage.lastIndex()).toBe(3);
    expect(log.term(ix(3))).toBeUndefined();
    storage.append(log.unstableEntries());
    log.stableTo(ix(2), tm(2));
    expect(log.unstableEntries()).toEqual([]);
    expect(storage.lastIndex()).toBe(2);
  });

  it('stableTo ignores a persisted range that was replaced meanwhile', () => {
    const { log } = logWith([e(1, 1)], [e(2, 1), e(3, 1)]);
    const persisted = log.unstableEntries();
    log.append([e(2, 2)]); // replaced while the Ready was being persisted
    log.stableTo(persisted[1]!.index, persisted[1]!.term);
    expect(log.unstableEntries().map((x) => `${x.index}@${x.term}`)).toEqual(['2@2']);
  });

  it('I-L3: appending over a committed entry is a bug and throws', () => {
    const { log } = logWith([e(1, 1), e(2, 1), e(3, 1)]);
    log.commitTo(ix(2));
    expect(() => log.append([e(2, 2)])).toThrow(/replace committed/);
    expect(() => log.commitTo(ix(4))).toThrow(/past the last index/);
    expect(() => log.appliedTo(ix(3))).toThrow(/applied 3 outside/);
  });

  it('findConflictByTerm skips back to the last entry of a term at or below the given one', () => {
    const { log } = logWith([e(1, 1), e(2, 1), e(3, 3), e(4, 3), e(5, 5)]);
    expect(log.findConflictByTerm(ix(5), tm(4))).toEqual([4, 3]);
    expect(log.findConflictByTerm(ix(5), tm(2))).toEqual([2, 1]);
    expect(log.findConflictByTerm(ix(5), tm(0))).toEqual([0, 0]);
  });

  it('isUpToDate compares last term, then last index (§5.4.1)', () => {
    const { log } = logWith([e(1, 1), e(2, 2)]);
    expect(log.isUpToDate(ix(1), tm(3))).toBe(true);
    expect(log.isUpToDate(ix(2), tm(2))).toBe(true);
    expect(log.isUpToDate(ix(5), tm(1))).toBe(false);
    expect(log.isUpToDate(ix(1), tm(2))).toBe(false);
  });

  it('restore makes a snapshot the whole log; entries below it read as compacted', () => {
    const { log } = logWith([e(1, 1), e(2, 1)]);
    const s: Snapshot = { metadata: { index: ix(10), term: tm(4), conf }, data: new Uint8Array() };
    log.restore(s);
    expect([log.firstIndex(), log.lastIndex(), log.committed]).toEqual([11, 10, 10]);
    expect(log.term(ix(10))).toBe(4);
    expect(log.slice(ix(2), ix(3), 10)).toBe('compacted');
    expect(log.unstableSnapshot()).toBe(s);
    log.stableSnapTo(ix(10));
    expect(log.unstableSnapshot()).toBeUndefined();
  });

  it('maybeCommit commits only an index of the given term', () => {
    const { log } = logWith([e(1, 1), e(2, 2)]);
    expect(log.maybeCommit(ix(1), tm(2))).toBe(false);
    expect(log.maybeCommit(ix(2), tm(2))).toBe(true);
    expect(log.committed).toBe(2);
    expect(log.nextCommittedEntries(100).map((x) => x.index)).toEqual([1, 2]);
  });
});
