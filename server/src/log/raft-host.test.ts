import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shardId } from '@kiseki/proto';
import { afterEach, describe, expect, it } from 'vitest';
import type { NodeId } from './raft/types.ts';
import { RaftHost } from './raft-host.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const quiet = { info() {}, warn() {}, error() {} };

/** A one-voter cluster member (its own peer): Raft without a network. */
function open(home: string): Promise<RaftHost> {
  return RaftHost.open({
    dir: join(home, 'raft'),
    self: 1 as NodeId,
    selfAddress: '127.0.0.1:1',
    peers: new Map([[1 as NodeId, '127.0.0.1:1']]),
    join: false,
    token: 'test',
    caCert: Buffer.alloc(0),
    authenticate: () => {},
    logger: quiet,
    tick_ms: 10,
  });
}

const shard = shardId('t.0');
const text = (es: { payload: Uint8Array }[]) => es.map((e) => Buffer.from(e.payload).toString());

describe('RaftHost, one voter', () => {
  it('I-L1, I-L2: appends get dense seqs; the applied log is rebuilt from the journal after it is lost', async () => {
    const home = mkdtempSync(join(tmpdir(), 'raft-host-'));
    dirs.push(home);
    let host = await open(home);
    let log = await host.openShard(shard, join(home, 'log', shard));
    expect(await log.append([Buffer.from('a'), Buffer.from('b')])).toEqual([1, 2]);
    expect(await log.append([Buffer.from('c')])).toEqual([3]);
    expect(await log.readBarrier()).toBe(3);
    expect(text(await log.read(1 as never, 3 as never))).toEqual(['a', 'b', 'c']);
    await host.close();

    // Reopen: same log. Then lose the applied log entirely: the journal has every committed entry.
    host = await open(home);
    log = await host.openShard(shard, join(home, 'log', shard));
    expect(log.committedSeq()).toBe(3);
    await host.close();
    rmSync(join(home, 'log'), { recursive: true });
    host = await open(home);
    log = await host.openShard(shard, join(home, 'log', shard));
    expect(log.committedSeq()).toBe(3);
    expect(text(await log.read(1 as never, 3 as never))).toEqual(['a', 'b', 'c']);
    expect(await log.append([Buffer.from('d')])).toEqual([4]);
    await host.close();
  });

  it('refuses empty deltas and answers with the status of its groups', async () => {
    const home = mkdtempSync(join(tmpdir(), 'raft-host-'));
    dirs.push(home);
    const host = await open(home);
    const log = await host.openShard(shard, join(home, 'log', shard));
    await expect(log.append([new Uint8Array(0)])).rejects.toMatchObject({ code: 'KISEKI_E_INVAL' });
    const s = host.status();
    expect(s.groups).toMatchObject([{ group: 't.0', role: 'leader', leader: 1, voters: [1] }]);
    await expect(host.admin({ op: 'read', group: 'nope', from: 1, to: 1 })).rejects.toMatchObject({
      code: 'KISEKI_E_NOENT',
    });
    await host.close();
  });
});
