import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Seq, shardId } from '@kiseki/proto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeConsumers, encodeConsumers } from './consumer-watermarks.ts';
import { type LogEntry, type LogSink, openSingleReplicaLog, SingleReplicaLog } from './shard-log.ts';
import { segmentFileName } from './wal-recovery.ts';

let dir: string;
const logs: SingleReplicaLog[] = [];
const s = (n: number) => n as Seq;
const SHARD = shardId('shard-a');
const OPTS = { segment_bytes_max: 500 }; // 48-byte records below: 10 per segment

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiseki-shardlog-'));
});
afterEach(async () => {
  for (const l of logs.splice(0)) await l.close().catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

async function openLog(): Promise<SingleReplicaLog> {
  const l = await SingleReplicaLog.open(SHARD, dir, OPTS);
  logs.push(l);
  return l;
}

const delta = (i: number) => Buffer.from(`delta-${String(i).padStart(14, '0')}`);

async function fill(log: SingleReplicaLog, n: number): Promise<void> {
  for (let i = 1; i <= n; i++) await log.append([delta(i)]);
}

async function segments(): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.wal')).sort();
}

describe('SingleReplicaLog', () => {
  it('I-L1/I-L2: append, read and committedSeq', async () => {
    const log = await openLog();
    expect(log.shardId).toBe('shard-a');
    expect(log.committedSeq()).toBe(0);
    expect(await log.append([delta(1), delta(2)])).toEqual([1, 2]);
    expect(log.committedSeq()).toBe(2);
    const got = await log.read(s(1), s(5));
    expect(got).toEqual([
      { seq: 1, payload: delta(1) },
      { seq: 2, payload: delta(2) },
    ]);
  });

  it('I-L4: compaction never passes the slowest consumer, and the watermarks survive reopen', async () => {
    const a = await openLog();
    await fill(a, 45);
    expect(await a.compact()).toEqual({ removedUpTo: 0 }); // no consumers: nothing may go
    await a.registerConsumer('view:main', s(0));
    await a.registerConsumer('audit', s(0));
    await a.advanceConsumer('view:main', s(45));
    await a.advanceConsumer('audit', s(24));
    expect(await a.compact()).toEqual({ removedUpTo: 20 }); // whole segments ≤ 24: 1-10, 11-20
    expect(await segments()).toEqual([21, 31, 41].map(segmentFileName));
    await expect(a.read(s(20), s(21))).rejects.toMatchObject({ code: 'KISEKI_E_NOENT' });
    expect((await a.read(s(21), s(21)))[0]!.seq).toBe(21);
    await a.close();
    logs.splice(0);

    const b = await openLog();
    expect(b.consumers().sort()).toEqual([
      ['audit', 24],
      ['view:main', 45],
    ]);
    expect(await b.compact()).toEqual({ removedUpTo: 20 }); // audit still at 24 after restart
    await b.advanceConsumer('audit', s(40));
    expect(await b.compact()).toEqual({ removedUpTo: 40 });
    expect(await segments()).toEqual([segmentFileName(41)]);
    expect(b.committedSeq()).toBe(45);
  });

  it('I-L4: a consumer cannot register behind compaction, move back, or pass the committed seq', async () => {
    const log = await openLog();
    await fill(log, 30);
    await log.registerConsumer('v', s(25));
    expect(await log.compact()).toEqual({ removedUpTo: 20 });
    await expect(log.registerConsumer('late', s(10))).rejects.toMatchObject({ code: 'KISEKI_E_NOENT' });
    await log.registerConsumer('late', s(20)); // needs 21.., still there
    await expect(log.advanceConsumer('v', s(24))).rejects.toMatchObject({ code: 'KISEKI_E_INVAL' });
    await expect(log.advanceConsumer('v', s(31))).rejects.toMatchObject({ code: 'KISEKI_E_INVAL' });
    await expect(log.advanceConsumer('ghost', s(1))).rejects.toMatchObject({ code: 'KISEKI_E_NOENT' });
    await expect(log.registerConsumer('bad name!', s(1))).rejects.toMatchObject({ code: 'KISEKI_E_INVAL' });
    // A rebuilt consumer may re-register lower; compaction then waits for it.
    await log.registerConsumer('v', s(20));
    await log.advanceConsumer('late', s(30));
    expect(await log.compact()).toEqual({ removedUpTo: 20 });
  });

  it('watch yields committed entries, wakes on new commits, and ends on abort', async () => {
    const log = await openLog();
    await fill(log, 3);
    const ac = new AbortController();
    const seen: LogEntry[] = [];
    const done = (async () => {
      for await (const e of log.watch(s(2), ac.signal)) {
        seen.push(e);
        if (e.seq === 6) ac.abort();
      }
    })();
    await new Promise((r) => setTimeout(r, 20));
    expect(seen.map((e) => e.seq)).toEqual([2, 3]);
    await log.append([delta(4)]);
    await log.append([delta(5), delta(6)]);
    await done; // ended by the abort at seq 6
    expect(seen.map((e) => e.seq)).toEqual([2, 3, 4, 5, 6]);
    expect(Buffer.from(seen[2]!.payload)).toEqual(delta(4));

    const idle = new AbortController();
    const waiting = (async () => {
      const got: number[] = [];
      for await (const e of log.watch(s(7), idle.signal)) got.push(e.seq);
      return got;
    })();
    await new Promise((r) => setTimeout(r, 20));
    idle.abort();
    expect(await waiting).toEqual([]);
  });

  it('watermark file is written atomically in the v1 format', async () => {
    const log = await openLog();
    await fill(log, 2);
    await Promise.all([log.registerConsumer('b', s(1)), log.registerConsumer('a', s(2))]);
    const text = await readFile(join(dir, 'consumers.json'), 'utf8');
    expect(text).toBe('{"format":"kiseki-log-consumers","version":1,"consumers":{"a":2,"b":1}}\n');
    expect(await readdir(dir)).not.toContain('consumers.json.tmp');
    expect([...decodeConsumers(Buffer.from(text), 'x')]).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
    expect(encodeConsumers(new Map([['b', 1]])).toString()).toContain('"b":1');
  });

  it('a damaged watermark file fails open with KISEKI_E_CORRUPT', async () => {
    await writeFile(
      join(dir, 'consumers.json'),
      '{"format":"kiseki-log-consumers","version":1,"consumers":{"a":-1}}',
    );
    await expect(SingleReplicaLog.open(SHARD, dir)).rejects.toMatchObject({ code: 'KISEKI_E_CORRUPT' });
  });

  it('openSingleReplicaLog logs a torn-tail recovery', async () => {
    const a = await openLog();
    await fill(a, 3);
    await a.close();
    logs.splice(0);
    const seg = join(dir, segmentFileName(1));
    await writeFile(seg, Buffer.concat([await readFile(seg), Buffer.from('torn')]));
    const lines: string[] = [];
    const sink: LogSink = {
      info: (_o, m) => lines.push(`info ${m}`),
      warn: (_o, m) => lines.push(`warn ${m}`),
      error: (_o, m) => lines.push(`error ${m}`),
    };
    const b = await openSingleReplicaLog('shard-a', dir, sink);
    logs.push(b);
    expect(lines).toEqual([
      expect.stringMatching(/^warn recovered WAL: dropped 4 bytes of torn tail after seq 3/),
    ]);
    expect(b.committedSeq()).toBe(3);
  });
});
