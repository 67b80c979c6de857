import { mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfState, Entry, Index, NodeId, Term } from './raft/types.ts';
import { RaftJournal } from './raft-journal.ts';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'raft-journal-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const conf: ConfState = { voters: [1, 2, 3] as NodeId[], learners: [] };
const ent = (index: number, term: number, data = `e${index}`): Entry => ({
  index: index as Index,
  term: term as Term,
  type: 'normal',
  data: new Uint8Array(Buffer.from(data)),
});
const range = (from: number, to: number, term: number) =>
  Array.from({ length: to - from + 1 }, (_, k) => ent(from + k, term));
const dump = (j: RaftJournal, g: string) => {
  const s = j.storage(g);
  const ents =
    s.lastIndex() >= s.firstIndex() ? s.entries(s.firstIndex(), (s.lastIndex() + 1) as Index, 1e9) : [];
  return {
    hs: s.hardState(),
    first: s.firstIndex(),
    last: s.lastIndex(),
    snap: s.snapshot().metadata,
    ents: ents.map((e) => `${e.index}@${e.term}:${Buffer.from(e.data)}`),
  };
};

describe('RaftJournal', () => {
  it('replays every group to the state it had: entries, conflicts, hard state, snapshots, compaction', async () => {
    const dir = tmp();
    const j = await RaftJournal.open(dir);
    await j.bootstrap('a', conf);
    await j.bootstrap('b');
    await Promise.all([
      j.persist('a', {
        entries: range(1, 10, 1),
        hardState: { term: 1 as Term, vote: 1 as NodeId, commit: 0 as Index },
      }),
      j.persist('b', { entries: range(1, 3, 2) }),
    ]);
    // A conflicting suffix from a new leader replaces 8..10.
    await j.persist('a', {
      entries: range(8, 9, 2),
      hardState: { term: 2 as Term, vote: 2 as NodeId, commit: 7 as Index },
    });
    await j.createSnapshot('a', 6 as Index, conf, new Uint8Array([6]));
    await j.compact('a', 4 as Index);
    await j.persist('b', {
      snapshot: { metadata: { index: 50 as Index, term: 3 as Term, conf }, data: new Uint8Array([5]) },
      entries: [],
    });
    const before = { a: dump(j, 'a'), b: dump(j, 'b') };
    expect(before.a.ents).toEqual(['5@1:e5', '6@1:e6', '7@1:e7', '8@2:e8', '9@2:e9']);
    expect(before.b.first).toBe(51);
    await j.close();
    const k = await RaftJournal.open(dir);
    expect(k.groups().sort()).toEqual(['a', 'b']);
    expect({ a: dump(k, 'a'), b: dump(k, 'b') }).toEqual(before);
    // A checkpoint rewrites live state, drops old segments and replays to the same state.
    await k.checkpoint();
    await k.close();
    const m = await RaftJournal.open(dir);
    expect({ a: dump(m, 'a'), b: dump(m, 'b') }).toEqual(before);
    await m.close();
  });

  it('a torn tail (crash mid-write) loses only the unfinished record', async () => {
    const dir = tmp();
    const j = await RaftJournal.open(dir);
    await j.bootstrap('a', conf);
    await j.persist('a', { entries: range(1, 5, 1) });
    await j.persist('a', { entries: range(6, 9, 1) });
    await j.close();
    const seg = join(dir, readdirSync(dir).find((f) => f.endsWith('.wal'))!);
    truncateSync(seg, statSync(seg).size - 3);
    const k = await RaftJournal.open(dir);
    expect(k.recovery.outcome).toBe('torn-tail');
    expect(dump(k, 'a').last).toBe(5);
    await k.close();
  });

  it('checkpoints by itself once checkpoint_bytes were appended, keeping the journal bounded', async () => {
    const dir = tmp();
    const j = await RaftJournal.open(dir, { checkpoint_bytes: 64 * 1024, segment_bytes_max: 16 * 1024 });
    await j.bootstrap('a', conf);
    const big = 'x'.repeat(1000);
    for (let i = 1; i <= 300; i++) {
      await j.persist('a', { entries: [ent(i, 1, big)] });
      if (i % 50 === 0) {
        await j.createSnapshot('a', (i - 10) as Index, conf, new Uint8Array());
        await j.compact('a', (i - 10) as Index);
      }
    }
    await j.checkpoint();
    const before = dump(j, 'a');
    await j.close();
    const bytes = readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    expect(bytes).toBeLessThan(64 * 1024 + 32 * 1024);
    const k = await RaftJournal.open(dir);
    expect(dump(k, 'a')).toEqual(before);
    await k.close();
  });
});
