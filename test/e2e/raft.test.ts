/**
 * Raft across real kiseki-server processes on 127.0.0.1: a bounded write load on the raw `_probe`
 * group while the leader is killed (-9), a minority or a majority is stopped (SIGSTOP), a
 * follower falls far behind and catches up by snapshot, and members are added and removed. At
 * the end every acknowledged delta must be on every live node at the seq it was acknowledged at
 * (I-L2, I-L3), and all nodes' logs must be identical (I-L1).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { RaftNodeStatus } from '@kiseki/proto';
import { afterAll, describe, expect, it } from 'vitest';
import { RaftAdmin } from '../../cli/src/raft.ts';
import { CLI_BIN, cleanup, freePortPair, type ServerHandle, startServer, tempDir } from './harness.ts';

const execFileP = promisify(execFile);
const GROUP = '_probe';
const TICK_MS = 50;
const COMPACT_AFTER = 300;
/** RaftNode's default inflight_entries_max. */
const INFLIGHT_ENTRIES = 1024;

interface Node {
  id: number;
  server: ServerHandle;
  admin: RaftAdmin;
}

class Cluster {
  readonly nodes = new Map<number, Node>();
  /** payload → seq it was acknowledged at. */
  readonly acked = new Map<string, number>();
  #stopLoad = false;
  #load: Promise<void> | undefined;
  #n = 0;
  errors = 0;

  static async start(size: number): Promise<Cluster> {
    const c = new Cluster();
    const ports: number[] = [];
    for (let i = 1; i <= size; i++) ports.push(await freePortPair());
    const peers = ports.map((p, i) => `${i + 1}=127.0.0.1:${p}`).join(',');
    const seed = tempDir('raft1');
    // Node 1 first: it makes the cluster identity the others copy (--seed-home).
    await c.add(1, ports[0]!, ['--peers', peers], seed);
    await Promise.all(ports.slice(1).map((p, i) => c.add(i + 2, p, ['--peers', peers, '--seed-home', seed])));
    return c;
  }

  async add(id: number, port: number, args: string[], home = tempDir(`raft${id}`)): Promise<Node> {
    const server = await startServer({
      home,
      port,
      deviceSizeBytes: 64 * 1024 ** 2,
      extraArgs: [
        '--node-id',
        String(id),
        '--raft-tick-ms',
        String(TICK_MS),
        '--raft-compact-after',
        String(COMPACT_AFTER),
        ...args,
      ],
    });
    const admin = new RaftAdmin(home, server.address);
    const n = { id, server, admin };
    this.nodes.set(id, n);
    return n;
  }

  seedHome(): string {
    return this.nodes.get(1)!.server.home;
  }

  async status(n: Node): Promise<RaftNodeStatus['groups'][number] | undefined> {
    try {
      return (await n.admin.status()).groups.find((g) => g.group === GROUP);
    } catch {
      return undefined;
    }
  }

  /** The node that says it leads, among `among` (default: all). */
  async leader(among = [...this.nodes.values()], timeoutMs = 15_000): Promise<Node> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const n of among) {
        const s = await this.status(n);
        if (s?.role === 'leader') return n;
      }
      await sleep(50);
    }
    throw new Error(`no leader among ${among.map((n) => n.id)} within ${timeoutMs} ms`);
  }

  /** A bounded write load: `writers` loops proposing one unique 200-byte delta at a time. */
  startLoad(writers = 4): void {
    this.#stopLoad = false;
    const loop = async () => {
      let target: Node | undefined;
      while (!this.#stopLoad) {
        const payload = `d${this.#n++}:`.padEnd(200, '.');
        try {
          target ??= await this.leader(undefined, 5000);
          const { seqs } = await target.admin.propose(GROUP, [Buffer.from(payload)], 3000);
          this.acked.set(payload, seqs[0]!);
        } catch {
          this.errors++;
          target = undefined;
          await sleep(50);
        }
      }
    };
    this.#load = Promise.all(Array.from({ length: writers }, loop)).then(() => {});
  }

  async stopLoad(): Promise<void> {
    this.#stopLoad = true;
    await this.#load;
  }

  async waitAcked(extra: number, timeoutMs = 20_000): Promise<void> {
    const want = this.acked.size + extra;
    const deadline = Date.now() + timeoutMs;
    while (this.acked.size < want) {
      if (Date.now() > deadline) throw new Error(`load made no progress (${this.acked.size}/${want} acked)`);
      await sleep(20);
    }
  }

  async readAll(n: Node): Promise<string[]> {
    const out: string[] = [];
    for (;;) {
      const r = await n.admin.call<{ entries: { seq: number; data: string }[] }>({
        op: 'read',
        group: GROUP,
        from: out.length + 1,
        to: out.length + 100_000,
      });
      if (r.entries.length === 0) return out;
      for (const e of r.entries) {
        expect(e.seq).toBe(out.length + 1);
        out.push(Buffer.from(e.data, 'base64').toString());
      }
    }
  }

  /** Every live node has every acknowledged delta at its seq, and the same log. */
  async checkNothingLost(live: Node[]): Promise<number> {
    const s = await this.status(await this.leader(live));
    const target = s!.seq;
    for (const n of live) {
      const deadline = Date.now() + 20_000;
      while (((await this.status(n))?.seq ?? 0) < target) {
        if (Date.now() > deadline) {
          throw new Error(`node ${n.id} did not catch up to seq ${target}:\n${n.server.log().slice(-3000)}`);
        }
        await sleep(50);
      }
    }
    const logs = await Promise.all(live.map((n) => this.readAll(n)));
    const first = logs[0]!;
    for (const [payload, seq] of this.acked)
      expect(first[seq - 1], `acked delta at seq ${seq}`).toBe(payload);
    for (const l of logs.slice(1)) {
      const common = Math.min(l.length, first.length);
      expect(l.slice(0, common)).toEqual(first.slice(0, common));
    }
    expect(new Set(first).size).toBe(first.length);
    return first.length;
  }

  async close(): Promise<void> {
    await this.stopLoad().catch(() => {});
    for (const n of this.nodes.values()) {
      n.admin.close();
      if (n.server.proc.signalCode === null && n.server.proc.exitCode === null) n.server.proc.kill('SIGCONT');
      await n.server.stop().catch(() => {});
      cleanup(n.server.home);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

describe('raft across real processes', () => {
  const clusters: Cluster[] = [];
  afterAll(async () => {
    for (const c of clusters) await c.close();
  });

  it('I-L2: 3 nodes — kill -9 of the leader, a stopped majority, a follower caught up by snapshot; no acknowledged delta lost', async () => {
    const c = await Cluster.start(3);
    clusters.push(c);
    c.startLoad();
    await c.waitAcked(50);

    // kill -9 the leader: a new leader serves writes.
    const old = await c.leader();
    const killedAt = Date.now();
    await old.server.kill('SIGKILL');
    const rest = [...c.nodes.values()].filter((n) => n !== old);
    const next = await c.leader(rest);
    expect(next.id).not.toBe(old.id);
    await c.waitAcked(50);
    console.log(
      `new leader ${next.id} serving writes ${Date.now() - killedAt} ms after kill -9 of ${old.id}`,
    );
    await old.server.restart();
    await c.waitAcked(20);

    // A majority stopped: the remaining node can neither elect itself nor commit.
    await c.stopLoad();
    const all = [...c.nodes.values()];
    const lone = await c.leader();
    const stopped = all.filter((n) => n !== lone);
    for (const n of stopped) n.server.proc.kill('SIGSTOP');
    await expect(lone.admin.propose(GROUP, [Buffer.from('x'.repeat(200))], 3000)).rejects.toMatchObject({
      code: expect.stringMatching(/KISEKI_E_(TIMEOUT|UNAVAILABLE)/),
    });
    await sleep(30 * TICK_MS);
    const s = await c.status(lone);
    expect(s!.role).not.toBe('leader');
    const seqBefore = s!.seq;
    for (const n of stopped) n.server.proc.kill('SIGCONT');
    await c.leader();
    c.startLoad();
    await c.waitAcked(20);

    // A follower stopped while the others write far past the compaction point catches up by snapshot.
    const leader = await c.leader();
    const lagger = all.find((n) => n !== leader)!;
    lagger.server.proc.kill('SIGSTOP');
    // Past the leader's in-flight window (1024 entries, which the stream may already hold for the
    // stopped node) and its compaction point.
    await c.stopLoad();
    c.startLoad(16);
    await c.waitAcked(INFLIGHT_ENTRIES + 2 * COMPACT_AFTER, 60_000);
    lagger.server.proc.kill('SIGCONT');
    await c.stopLoad();
    const total = await c.checkNothingLost(all);
    expect(total).toBeGreaterThan(seqBefore);
    const deadline = Date.now() + 10_000;
    while (!/raft snapshot installed/.test(lagger.server.log()) && Date.now() < deadline) await sleep(50);
    expect(lagger.server.log()).toMatch(/raft snapshot installed/);
    console.log(
      `3 nodes: ${c.acked.size} deltas acknowledged, ${total} in the log, ${c.errors} retried calls`,
    );
  }, 120_000);

  it('I-L2: 5 nodes — kill -9 of the leader; the two nodes left when three (the leader among them) stop can neither elect nor commit; all catch up', async () => {
    const c = await Cluster.start(5);
    clusters.push(c);
    c.startLoad();
    await c.waitAcked(50);
    const old = await c.leader();
    await old.server.kill('SIGKILL');
    const next = await c.leader([...c.nodes.values()].filter((n) => n !== old));
    await c.waitAcked(50);
    await old.server.restart();
    await c.waitAcked(20);

    // Stop the leader and two followers: the two nodes left are a minority.
    const leader = await c.leader();
    const all = [...c.nodes.values()];
    const others = all.filter((n) => n !== leader);
    const stopped = [leader, ...others.slice(0, 2)];
    const left = others.slice(2);
    for (const n of stopped) n.server.proc.kill('SIGSTOP');
    await c.stopLoad();
    await sleep(40 * TICK_MS);
    for (const n of left) {
      const s = await c.status(n);
      expect(s!.role).not.toBe('leader');
      await expect(n.admin.propose(GROUP, [Buffer.from('y'.repeat(200))], 2000)).rejects.toMatchObject({
        code: expect.stringMatching(/KISEKI_E_(TIMEOUT|UNAVAILABLE)/),
      });
    }
    const seqs = await Promise.all(left.map(async (n) => (await c.status(n))!.seq));
    await sleep(10 * TICK_MS);
    expect(await Promise.all(left.map(async (n) => (await c.status(n))!.seq))).toEqual(seqs);
    for (const n of stopped) n.server.proc.kill('SIGCONT');
    c.startLoad();
    await c.waitAcked(50);
    await c.stopLoad();
    const total = await c.checkNothingLost(all);
    console.log(
      `5 nodes: new leader ${next.id} after kill -9 of ${old.id}; ${c.acked.size} acknowledged, ${total} in the log`,
    );
  }, 90_000);

  it('I-L2: adding a fourth node and removing one under load loses nothing', async () => {
    const c = await Cluster.start(3);
    clusters.push(c);
    c.startLoad();
    await c.waitAcked(50);
    const port = await freePortPair();
    const peers = [...c.nodes.values()].map((n) => `${n.id}=127.0.0.1:${n.server.port}`).join(',');
    const four = await c.add(4, port, [
      '--join',
      '--peers',
      `${peers},4=127.0.0.1:${port}`,
      '--seed-home',
      c.seedHome(),
    ]);
    // Through the CLI, against node 2 (requests that must run at a leader are forwarded).
    const two = c.nodes.get(2)!.server;
    const kiseki = (...args: string[]) =>
      execFileP(CLI_BIN, ['--home', two.home, '--server', two.address, ...args], { timeout: 60_000 });
    const added = await kiseki('node', 'add', '4', four.server.address);
    expect(added.stdout).toMatch(/_probe: node 4 is a voter/);
    expect(added.stdout).toMatch(/default\.0: node 4 is a voter/);
    await c.waitAcked(50);
    // Remove node 1 under load: drained first if it leads anything.
    await kiseki('node', 'remove', '1');
    await c.waitAcked(50);
    const list = await kiseki('shard', 'list');
    expect(list.stdout).toMatch(/_probe\s+[234]\s+\d+\s+\d+\s+\d+\s+2,3,4/);
    await c.stopLoad();
    const live = [...c.nodes.values()].filter((n) => n.id !== 1);
    const s = await c.status(await c.leader(live));
    expect(s!.voters).toEqual([2, 3, 4]);
    const total = await c.checkNothingLost(live);
    console.log(
      `membership: ${c.acked.size} deltas acknowledged, ${total} in the log, ${c.errors} retried calls`,
    );
  }, 90_000);
});
