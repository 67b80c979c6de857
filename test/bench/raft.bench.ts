/**
 * `pnpm bench raft`: committed 200-byte deltas per second and commit latency on a 3-node Kiseki
 * cluster (three kiseki-server processes on 127.0.0.1, the raw `_probe` group), against etcd 3.4
 * (Debian etcd-server) as a 3-member cluster on the same machine in the same run. Both fsync
 * every commit (etcd's default; Kiseki's journal always does).
 *
 * Clients: one Node process, @grpc/grpc-js unary calls to the leader, `--inflight` N loops each
 * sending its next request when the previous one is acknowledged. Kiseki: Raft admin `propose`
 * of one 200 B delta; etcd: KV.Put of a 16 B key and a 200 B value. Each phase runs
 * `--seconds` after a 1 s warm-up.
 *
 * Output, one line per figure:
 *   bench raft <figure>: <v> <unit> | etcd: <v> <unit> | ratio <kiseki/etcd>
 * figures: commits/s@1, p50@1, p99@1, commits/s@64, p50@64, p99@64 (latency in ms). Lines
 * starting with '#' are context. Bar (issue 3): commits/s@64 ratio ≥ 1.0, p99@64 ratio ≤ 1.5.
 *
 * Both clusters run during the whole benchmark and the phases alternate (kiseki, etcd; then etcd,
 * kiseki), `--runs` times; each figure is the median of its runs (listed in '#' lines). Before
 * each phase it waits (up to 20 s) until other processes use less than half a core.
 *
 *   flock /tmp/kiseki-bench.lock bin/run-ts test/bench/raft.bench.ts [--seconds 5] [--runs 3] [--inflight 1,64]
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { RaftAdmin } from '../../cli/src/raft.ts';
import { RawUnaryClient } from '../../server/src/log/index.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SERVER_BIN = join(ROOT, 'server/bin/kiseki-server');

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    runs: { type: 'string', default: '3' },
    inflight: { type: 'string', default: '1,64' },
    'keep-dir': { type: 'boolean', default: false },
  },
});
const SECONDS = Number(values.seconds);
const INFLIGHT = values.inflight!.split(',').map(Number);
const RUNS = Number(values.runs);
const PAYLOAD_BYTES = 200;
/** How long to wait for other work on the machine to calm down before a phase. */
const QUIET_WAIT_MS = 20_000;

const children: ChildProcess[] = [];
const work = mkdtempSync(join(tmpdir(), 'kiseki-bench-raft-'));
function cleanupAll(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (!values['keep-dir']) rmSync(work, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    cleanupAll();
    process.exit(130);
  });
}

const log = (s: string) => process.stderr.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(base: number, i: number): number {
  return base + i * 10;
}

function waitLine(
  child: ChildProcess,
  re: RegExp,
  what: string,
  stream: 'stdout' | 'stderr',
  ms = 60_000,
): Promise<void> {
  return new Promise((res, rej) => {
    let buf = '';
    const t = setTimeout(() => rej(new Error(`${what}: not ready in ${ms} ms\n${buf.slice(-2000)}`)), ms);
    child[stream]!.on('data', (d: Buffer) => {
      buf += d.toString();
      if (re.test(buf)) {
        clearTimeout(t);
        res();
      }
    });
    child.once('exit', (c) => {
      clearTimeout(t);
      rej(new Error(`${what} exited (${c})\n${buf.slice(-2000)}`));
    });
  });
}

interface Result {
  perSec: number;
  p50: number;
  p99: number;
}

/** `inflight` loops calling `op` for `seconds` after a 1 s warm-up. */
async function drive(inflight: number, op: (i: number) => Promise<void>): Promise<Result> {
  let stop = false;
  let measuring = false;
  const lat: number[] = [];
  let n = 0;
  const loop = async (w: number) => {
    let i = w;
    while (!stop) {
      const t0 = performance.now();
      await op(i);
      i += inflight;
      if (measuring) {
        lat.push(performance.now() - t0);
        n++;
      }
    }
  };
  const loops = Array.from({ length: inflight }, (_, w) => loop(w));
  await sleep(1000);
  measuring = true;
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  measuring = false;
  const dt = (performance.now() - t0) / 1000;
  stop = true;
  await Promise.all(loops);
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? Number.NaN;
  return { perSec: n / dt, p50: q(0.5), p99: q(0.99) };
}

// ------------------------------------------------------------------------------------- Kiseki

/** A started cluster: `op(i)` commits one 200 B write; `stop()` ends it. */
interface System {
  readonly name: string;
  readonly op: (i: number) => Promise<void>;
  stop(): Promise<void>;
}

async function stopChildren(cs: ChildProcess[]): Promise<void> {
  for (const c of cs) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    c.kill('SIGTERM');
    await new Promise((r) => c.once('exit', r));
  }
}

async function kiseki(): Promise<System> {
  const mine: ChildProcess[] = [];
  const base = 31_000 + Math.floor(Math.random() * 2000);
  const ports = [1, 2, 3].map((i) => freePort(base, i));
  const peers = ports.map((p, i) => `${i + 1}=127.0.0.1:${p}`).join(',');
  const homes = ports.map((_, i) => join(work, `kiseki${i + 1}`));
  const start = async (i: number, extra: string[]) => {
    const c = spawn(
      SERVER_BIN,
      [
        '--home',
        homes[i]!,
        '--port',
        String(ports[i]),
        '--node-id',
        String(i + 1),
        '--peers',
        peers,
        '--device-size',
        String(64 * 1024 ** 2),
        '--log-level',
        'warn',
        ...extra,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(c);
    mine.push(c);
    await waitLine(c, /listening grpc=/, `kiseki-server ${i + 1}`, 'stdout');
    return c;
  };
  await start(0, []);
  await Promise.all([1, 2].map((i) => start(i, ['--seed-home', homes[0]!])));
  const admins = ports.map((p, i) => new RaftAdmin(homes[i]!, `127.0.0.1:${p}`));
  let leader: RaftAdmin | undefined;
  for (let t = 0; t < 200 && leader === undefined; t++) {
    for (const a of admins) {
      const s = (await a.status()).groups.find((g) => g.group === '_probe');
      if (s?.role === 'leader') leader = a;
    }
    if (leader === undefined) await sleep(100);
  }
  if (leader === undefined) throw new Error('kiseki: no leader');
  const payload = Buffer.alloc(PAYLOAD_BYTES, 0x61);
  const chosen = leader;
  return {
    name: 'kiseki',
    op: async () => void (await chosen.propose('_probe', [payload])),
    async stop() {
      for (const a of admins) a.close();
      await stopChildren(mine);
    },
  };
}

// ------------------------------------------------------------------------------------- etcd

/** protobuf PutRequest { bytes key = 1; bytes value = 2; } */
function putRequest(key: Buffer, value: Buffer): Buffer {
  const varint = (n: number) => {
    const b: number[] = [];
    while (n > 127) {
      b.push((n & 127) | 128);
      n >>>= 7;
    }
    b.push(n);
    return Buffer.from(b);
  };
  return Buffer.concat([
    Buffer.from([0x0a]),
    varint(key.length),
    key,
    Buffer.from([0x12]),
    varint(value.length),
    value,
  ]);
}

async function etcd(): Promise<System> {
  const mine: ChildProcess[] = [];
  const base = 34_000 + Math.floor(Math.random() * 2000);
  const members = [1, 2, 3].map((i) => ({
    name: `m${i}`,
    client: freePort(base, i),
    peer: freePort(base, i) + 1,
    dir: join(work, `etcd${i}`),
  }));
  const cluster = members.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(',');
  await Promise.all(
    members.map((m) => {
      const c = spawn(
        'etcd',
        [
          '--name',
          m.name,
          '--data-dir',
          m.dir,
          '--listen-client-urls',
          `http://127.0.0.1:${m.client}`,
          '--advertise-client-urls',
          `http://127.0.0.1:${m.client}`,
          '--listen-peer-urls',
          `http://127.0.0.1:${m.peer}`,
          '--initial-advertise-peer-urls',
          `http://127.0.0.1:${m.peer}`,
          '--initial-cluster',
          cluster,
          '--initial-cluster-state',
          'new',
          '--log-level',
          'warn',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      children.push(c);
      mine.push(c);
      return waitLine(c, /ready to serve client requests|serving client/i, `etcd ${m.name}`, 'stderr').catch(
        () => {},
      );
    }),
  );
  // The leader, from etcdctl (etcd followers forward proposals; Kiseki's clients go to the leader too).
  let leaderUrl = '';
  for (let t = 0; t < 100 && leaderUrl === ''; t++) {
    const r = spawnSync(
      'etcdctl',
      [
        '--endpoints',
        members.map((m) => `127.0.0.1:${m.client}`).join(','),
        'endpoint',
        'status',
        '-w',
        'json',
      ],
      { env: { ...process.env, ETCDCTL_API: '3' }, encoding: 'utf8' },
    );
    try {
      const st = JSON.parse(r.stdout) as {
        Endpoint: string;
        Status: { header: { member_id: number }; leader: number };
      }[];
      const l = st.find((s) => String(s.Status.header.member_id) === String(s.Status.leader));
      if (l) leaderUrl = l.Endpoint;
    } catch {}
    if (leaderUrl === '') await sleep(100);
  }
  if (leaderUrl === '') throw new Error('etcd: no leader');
  const client = new RawUnaryClient(leaderUrl);
  const value = Buffer.alloc(PAYLOAD_BYTES, 0x61);
  const put = async (i: number) =>
    void (await client.call(
      '/etcdserverpb.KV/Put',
      putRequest(Buffer.from(`k${String(i % 100_000).padStart(15, '0')}`), value),
    ));
  return {
    name: 'etcd',
    op: put,
    async stop() {
      client.close();
      await stopChildren(mine);
    },
  };
}

// ------------------------------------------------------------------------------------- quiet

/** CPU seconds the whole machine has been busy (from /proc/stat). */
function machineBusyS(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return (total - f[3]! - f[4]!) / 100;
}

/** CPU seconds used by a process (utime + stime). */
function procCpuS(pid: number | undefined): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const r = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(r[11]) + Number(r[12])) / 100;
  } catch {
    return 0;
  }
}

/** Waits (bounded) until other processes use less than half a core; returns what they used. */
async function waitQuiet(): Promise<number> {
  const deadline = Date.now() + QUIET_WAIT_MS;
  for (;;) {
    const ours = () => children.reduce((a, c) => a + procCpuS(c.pid), procCpuS(process.pid));
    const o0 = ours();
    const m0 = machineBusyS();
    await sleep(1000);
    const others = Math.max(0, machineBusyS() - m0 - (ours() - o0));
    if (others < 0.5 || Date.now() > deadline) return others;
    log(`waiting for a quiet machine (${others.toFixed(2)} cores used by other processes)`);
  }
}

// ------------------------------------------------------------------------------------- main

async function main(): Promise<void> {
  console.log(
    `# ${cpus().length} cores, load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}; ${SECONDS} s per phase; 3 nodes on 127.0.0.1, fsync on both`,
  );
  console.log(`# ${spawnSync('etcd', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]}`);
  // Both clusters run for the whole benchmark; phases alternate between them so that load from
  // elsewhere on the machine falls on both alike. Each figure is the median over the runs.
  const systems = [await kiseki(), await etcd()];
  const results = new Map<string, Result[]>();
  try {
    for (let run = 0; run < RUNS; run++) {
      for (const c of INFLIGHT) {
        for (const sys of run % 2 === 0 ? systems : [...systems].reverse()) {
          const bg = await waitQuiet();
          const r = await drive(c, sys.op);
          log(
            `${sys.name} @${c} run ${run + 1}: ${r.perSec.toFixed(0)}/s p50 ${r.p50.toFixed(2)} ms p99 ${r.p99.toFixed(2)} ms`,
          );
          console.log(
            `# ${sys.name} @${c} run ${run + 1}: ${r.perSec.toFixed(0)}/s p50 ${r.p50.toFixed(2)} ms p99 ${r.p99.toFixed(2)} ms (others used ${bg.toFixed(2)} cores before)`,
          );
          const key = `${sys.name}@${c}`;
          results.set(key, [...(results.get(key) ?? []), r]);
        }
      }
    }
  } finally {
    for (const sys of systems) await sys.stop();
  }
  const median = (rs: Result[], f: (r: Result) => number) => {
    const v = rs.map(f).sort((x, y) => x - y);
    return v[Math.floor(v.length / 2)]!;
  };
  const fmt = (v: number, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');
  for (const c of INFLIGHT) {
    const ks = results.get(`kiseki@${c}`)!;
    const es = results.get(`etcd@${c}`)!;
    const a = {
      perSec: median(ks, (r) => r.perSec),
      p50: median(ks, (r) => r.p50),
      p99: median(ks, (r) => r.p99),
    };
    const b = {
      perSec: median(es, (r) => r.perSec),
      p50: median(es, (r) => r.p50),
      p99: median(es, (r) => r.p99),
    };
    console.log(
      `bench raft commits/s@${c}: ${fmt(a.perSec, 0)} deltas/s | etcd: ${fmt(b.perSec, 0)} puts/s | ratio ${fmt(a.perSec / b.perSec)}`,
    );
    console.log(
      `bench raft p50@${c}: ${fmt(a.p50)} ms | etcd: ${fmt(b.p50)} ms | ratio ${fmt(a.p50 / b.p50)}`,
    );
    console.log(
      `bench raft p99@${c}: ${fmt(a.p99)} ms | etcd: ${fmt(b.p99)} ms | ratio ${fmt(a.p99 / b.p99)}`,
    );
  }
}

main()
  .catch((err) => {
    process.stderr.write(`bench raft: ${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  })
  .finally(cleanupAll);
