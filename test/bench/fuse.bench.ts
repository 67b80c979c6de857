/**
 * `pnpm bench fuse`: Kiseki through a real FUSE mount (mount.kiseki) and through the SDK, against
 * a plain directory and gocryptfs on the same disk, all in one run:
 *
 *   seq-write  dd of N MiB of random data (bs=1M, conv=fsync) into the mount        MB/s
 *   seq-read   dd of that file to /dev/null after drop_caches (FUSE daemons remounted) MB/s
 *   create     M empty files (open O_CREAT + close in one node process)          files/s
 *   randread   fio 4 KiB random reads of that file, psync, 10 s, after a cold start  IOPS
 *   stat, readdir, rename, unlink  over the M created files, one node process (readdir:
 *              20 listings of the directory, counted in entries)                   ops/s
 *   sdk-write  N MiB through @kiseki/client FileData.write, 1 MiB pieces, then flush MB/s
 *   sdk-read   N MiB through FileData.readInto, 1 MiB pieces, fresh session, cold cache MB/s
 *
 * Each figure prints one line on stdout:
 *   bench fuse <figure>: <v> <unit> | <reference>: <v> <unit> | ratio <kiseki/reference>
 * with references gocryptfs and plain (the same dd / node loop on a plain directory) for the
 * mount figures, and plain-fs (node:fs writes of the same bytes + fsync, reads after
 * drop_caches) for the SDK ones. MB = 10^6 bytes. With --runs N every figure is the median of
 * N runs (the runs are listed in the '#' lines). Lines starting with '#' are context: machine,
 * CPU seconds per process and phase, background load. Progress goes to stderr.
 * Results and analysis: docs/bench/fuse.md.
 *
 *   bin/run-ts test/bench/fuse.bench.ts [--size-mb 1024] [--files 5000] [--runs 1] [--profile DIR] [--sdk-only]
 *
 * --sdk-only measures only the SDK figures and their plain-fs references (no mounts, no gocryptfs):
 * a quick loop for work on the client and chunk server data path. Same output format.
 *
 * --profile DIR runs kiseki-server and every mount.kiseki with `--cpu-prof` (one .cpuprofile
 * per process in DIR; per run the mounts are: write, read, creates).
 * Needs root (drop_caches, FUSE, allow_other). Everything lives in one temp directory on the
 * same disk as the Kiseki home (plus the random source on /dev/shm when it fits), removed at
 * the end, also on failure or Ctrl-C. Before each timed phase it waits (up to 2 min) for the
 * machine to be quiet, since other work on a 2-core machine moves these figures a lot.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomFillSync } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statfsSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { exited, type MountHandle, mountFs, type ServerHandle, sdk, startServer } from '../e2e/harness.ts';

const MIB = 1024 * 1024;
const MB = 1e6;

const { values: args } = parseArgs({
  options: {
    'size-mb': { type: 'string', default: '1024' },
    files: { type: 'string', default: '5000' },
    runs: { type: 'string', default: '1' },
    profile: { type: 'string' },
    'sdk-only': { type: 'boolean', default: false },
  },
  strict: true,
});
const SIZE_MIB = Number(args['size-mb']);
const FILES = Number(args.files);
const RUNS = Number(args.runs);
for (const [name, v] of [
  ['--size-mb', SIZE_MIB],
  ['--files', FILES],
  ['--runs', RUNS],
] as const) {
  if (!Number.isSafeInteger(v) || v < 1) throw new Error(`${name} must be a positive integer`);
}
const SIZE = SIZE_MIB * MIB;
const SIZE_LABEL = SIZE_MIB % 1024 === 0 ? `${SIZE_MIB / 1024}g` : `${SIZE_MIB}m`;
const PROFILE_DIR = args.profile;
const SDK_ONLY = args['sdk-only'] === true;
/** Room for every run's mount and SDK file (nothing is reclaimed in between), under I-C5's 85%. */
const DEVICE_BYTES = Math.max(4 * 1024 ** 3, Math.ceil((2 * SIZE * RUNS + 512 * MIB) / 0.8 / MIB) * MIB);
const QUIET_CORES = 0.3;
const QUIET_WAIT_MS = 120_000;
const TOOL_TIMEOUT_MS = 20 * 60_000;

const log = (s: string) => process.stderr.write(`fuse-bench: ${s}\n`);
const notes: string[] = [];

// ---- cleanup, also on failure and signals ------------------------------------------------

const cleanups: Array<() => Promise<void> | void> = [];
async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) {
    const c = cleanups.pop()!;
    try {
      await c();
    } catch (err) {
      log(`cleanup step failed: ${(err as Error).message}`);
    }
  }
}
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    log(`${sig}: cleaning up`);
    runCleanups().finally(() => process.exit(130));
  });
}

function mountedUnder(dir: string): string[] {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1]?.replace(/\\040/g, ' ') ?? '')
    .filter((mp) => mp === dir || mp.startsWith(`${dir}/`));
}

/** Removes `dir` only once nothing is mounted below it (never deletes through a mount). */
function removeTree(dir: string): void {
  for (const mp of mountedUnder(dir)) {
    spawnSync('fusermount3', ['-u', '-q', mp], { stdio: 'ignore', timeout: 30_000 });
    if (mountedUnder(mp).includes(mp)) spawnSync('umount', ['-l', mp], { stdio: 'ignore', timeout: 30_000 });
  }
  if (mountedUnder(dir).length > 0) {
    log(`not removing ${dir}: still mounted: ${mountedUnder(dir).join(', ')}`);
    return;
  }
  rmSync(dir, { recursive: true, force: true });
}

// ---- measuring helpers ----------------------------------------------------------------------

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' '); // [0] is field 3 of proc(5)
}

/** CPU seconds (user + system) a live process of ours has used. Only our own pids are read:
 * /proc/<pid>/stat of a process stuck on someone else's dead FUSE mount can block. */
function procCpuS(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const f = statFields(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime, stime
  } catch {
    return 0;
  }
}

/** Machine-wide busy core-seconds so far. */
function machineBusyS(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  return (cpu.reduce((a, b) => a + b, 0) - idle) / CLK_TCK;
}

interface Watched {
  readonly name: string;
  pid(): number | undefined;
}
const selfWatch: Watched = { name: 'bench (sdk)', pid: () => process.pid };

/** Waits until the machine is quiet apart from our own processes (other sessions' test runs). */
async function waitQuiet(watch: Watched[]): Promise<number> {
  const deadline = Date.now() + QUIET_WAIT_MS;
  for (let said = false; ; ) {
    const ours0 = watch.reduce((a, w) => a + procCpuS(w.pid()), procCpuS(process.pid));
    const m0 = machineBusyS();
    await new Promise((r) => setTimeout(r, 1000));
    const ours = watch.reduce((a, w) => a + procCpuS(w.pid()), procCpuS(process.pid)) - ours0;
    const others = Math.max(0, machineBusyS() - m0 - ours);
    if (others < QUIET_CORES) return others;
    if (Date.now() > deadline) {
      log(`machine still busy (${others.toFixed(2)} cores used by others); measuring anyway`);
      return others;
    }
    if (!said) log(`waiting for a quiet machine (${others.toFixed(2)} cores used by other processes)`);
    said = true;
  }
}

/** Times `fn` (after waiting for a quiet machine), with CPU seconds per watched process. */
async function timed<T>(
  what: string,
  watch: Watched[],
  fn: () => Promise<{ value: T; toolCpuS?: number }>,
): Promise<{ s: number; value: T }> {
  const bg = await waitQuiet(watch);
  const before = watch.map((w) => procCpuS(w.pid()));
  const m0 = machineBusyS();
  const t0 = process.hrtime.bigint();
  const { value, toolCpuS = 0 } = await fn();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const busy = machineBusyS() - m0;
  const used = watch.map((w, i) => procCpuS(w.pid()) - before[i]!);
  const unattributed = busy - used.reduce((a, b) => a + b, 0) - toolCpuS;
  const parts = [
    ...watch.map((w, i) => `${w.name} ${used[i]!.toFixed(2)}`),
    ...(toolCpuS > 0 ? [`tool ${toolCpuS.toFixed(2)}`] : []),
    `kernel threads+others ${Math.max(0, unattributed).toFixed(2)}`,
  ];
  const line =
    `${what}: ${s.toFixed(2)} s; cpu-s ${parts.join(', ')}; machine ${((busy / s / cpus().length) * 100).toFixed(0)}% ` +
    `of ${cpus().length} cores; others before start ${bg.toFixed(2)} cores`;
  log(line);
  notes.push(`# cpu ${line}`);
  if (unattributed / s > QUIET_CORES) {
    const w = `# NOISY: ${what} shared the machine with other processes (${(unattributed / s).toFixed(2)} cores on average): its figure is low; use --runs 3`;
    log(w);
    notes.push(w);
  }
  return { s, value };
}

/** Runs a tool to completion; resolves with its stdout and the CPU seconds it used. */
function run(
  cmd: string,
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ value: string; toolCpuS: number }> {
  // A shell runs the tool and then reports its children's CPU (cutime + cstime of proc(5)).
  const script = '"$@"; rc=$?; echo "KISEKI_BENCH_CPU $(cat /proc/$$/stat)" >&2; exit $rc';
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', script, 'sh', cmd, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env });
    const timer = setTimeout(() => child.kill('SIGKILL'), TOOL_TIMEOUT_MS);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-8000);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const m = /KISEKI_BENCH_CPU (.*)/.exec(err);
      const f = m ? statFields(m[1]!) : [];
      const toolCpuS = (Number(f[13] ?? 0) + Number(f[14] ?? 0)) / CLK_TCK;
      if (code === 0) resolve({ value: out, toolCpuS });
      else
        reject(
          new Error(`${cmd} ${argv.join(' ')} exited ${code}: ${err.replace(/KISEKI_BENCH_CPU.*/, '')}`),
        );
    });
  });
}

let canDropCaches = true;
async function dropCaches(): Promise<void> {
  await run('sync', []);
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3');
  } catch (err) {
    if (canDropCaches) log(`cannot drop caches (${(err as Error).message}): reads may be cached`);
    canDropCaches = false;
  }
}

// ---- the random source ----------------------------------------------------------------------

interface Source {
  readonly path: string;
  readonly onTmpfs: boolean;
}

/** Where SIZE random bytes go: tmpfs when it has room, else the work dir (then pre-read). */
function sourcePlace(work: string): Source {
  try {
    const s = statfsSync('/dev/shm');
    if (s.bavail * s.bsize > SIZE + 512 * MIB) {
      const dir = mkdtempSync('/dev/shm/kiseki-fusebench-src-');
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      return { path: join(dir, 'random.bin'), onTmpfs: true };
    }
  } catch {
    /* no /dev/shm */
  }
  return { path: join(work, 'random.bin'), onTmpfs: false };
}

/** Fresh random bytes for every run: chunk ids are content-derived, so repeating the data of an
 * earlier run would be deduplicated by Kiseki (no device write, no fsync). */
function fillSource(src: Source): void {
  const fd = openSync(src.path, 'w');
  const buf = Buffer.allocUnsafe(4 * MIB);
  for (let done = 0; done < SIZE; ) {
    const n = Math.min(buf.length, SIZE - done);
    randomFillSync(buf, 0, n);
    writeSync(fd, buf, 0, n);
    done += n;
  }
  closeSync(fd);
}

async function warmSource(src: Source): Promise<void> {
  if (!src.onTmpfs) await run('cat', [src.path]);
}

// ---- gocryptfs ------------------------------------------------------------------------------

interface Gocryptfs {
  readonly mountpoint: string;
  proc: ChildProcess;
  unmount(): Promise<void>;
}

async function gocryptfsInit(cipher: string): Promise<void> {
  mkdirSync(cipher, { recursive: true });
  await run('gocryptfs', ['-init', '-q', '-extpass', 'echo pw', '-scryptn', '10', cipher]);
}

async function gocryptfsMount(cipher: string, mountpoint: string): Promise<Gocryptfs> {
  mkdirSync(mountpoint, { recursive: true });
  // Foreground, so the process is ours to watch (CPU) and to stop.
  const proc = spawn('gocryptfs', ['-fg', '-extpass', 'echo pw', cipher, mountpoint], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stdout?.resume();
  proc.stderr?.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-4000);
  });
  const deadline = Date.now() + 30_000;
  while (!mountedUnder(mountpoint).includes(mountpoint)) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`gocryptfs did not mount ${mountpoint}: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    mountpoint,
    proc,
    async unmount() {
      spawnSync('fusermount3', ['-u', '-q', mountpoint], { stdio: 'ignore', timeout: 30_000 });
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited(proc);
      clearTimeout(t);
    },
  };
}

// ---- FUSE figures ---------------------------------------------------------------------------

interface Target {
  readonly name: 'kiseki' | 'gocryptfs' | 'plain';
  readonly dir: () => string;
  /** Makes the next read come from the backing store (drop caches; FUSE daemons remounted). */
  coldStart(): Promise<void>;
  readonly watch: Watched[];
}

async function ddWrite(t: Target, src: string, runNo: number): Promise<number> {
  const out = join(t.dir(), 'big.bin');
  const r = await timed(`run ${runNo} ${t.name} seq-write`, t.watch, () =>
    run('dd', [`if=${src}`, `of=${out}`, 'bs=1M', `count=${SIZE_MIB}`, 'iflag=fullblock', 'conv=fsync']),
  );
  const size = statSync(out).size;
  if (size !== SIZE) throw new Error(`${t.name}: wrote ${size} bytes, expected ${SIZE}`);
  return SIZE / MB / r.s;
}

async function ddRead(t: Target, src: string, runNo: number): Promise<number> {
  const file = join(t.dir(), 'big.bin');
  const r = await timed(`run ${runNo} ${t.name} seq-read`, t.watch, () =>
    run('dd', [`if=${file}`, 'of=/dev/null', 'bs=1M']),
  );
  // After the timed read (now mostly from the page cache): a fast wrong answer is worth nothing.
  if (t.name !== 'plain') await run('cmp', [src, file]);
  return SIZE / MB / r.s;
}

const CREATE_SCRIPT = `
const fs = require('fs');
const [dir, n] = [process.argv[1], Number(process.argv[2])];
fs.mkdirSync(dir);
const t0 = process.hrtime.bigint();
for (let i = 0; i < n; i++) fs.closeSync(fs.openSync(dir + '/f' + i, 'w'));
process.stdout.write(String(Number(process.hrtime.bigint() - t0) / 1e9));
`;

/** Files per second, timed inside the child (node start-up excluded). */
async function creates(t: Target, runNo: number): Promise<number> {
  const dir = join(t.dir(), `creates-${runNo}`);
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const r = await timed(`run ${runNo} ${t.name} create x${FILES}`, t.watch, () =>
    run(process.execPath, ['-e', CREATE_SCRIPT, dir, String(FILES)], env),
  );
  return FILES / Number(r.value);
}

/** stat, readdir, rename and unlink per second over the files the create phase made (one node
 * child, timed inside it; readdir counts entries listed per second). */
const META_SCRIPT = `
const fs = require('fs');
const [dir, n] = [process.argv[1], Number(process.argv[2])];
const out = {};
const time = (name, count, fn) => {
  const t0 = process.hrtime.bigint();
  fn();
  out[name] = count / (Number(process.hrtime.bigint() - t0) / 1e9);
};
time('stat', n, () => { for (let i = 0; i < n; i++) fs.statSync(dir + '/f' + i); });
const lists = 20;
time('readdir', n * lists, () => {
  for (let r = 0; r < lists; r++) if (fs.readdirSync(dir).length !== n) throw new Error('readdir: wrong count');
});
time('rename', n, () => { for (let i = 0; i < n; i++) fs.renameSync(dir + '/f' + i, dir + '/g' + i); });
time('unlink', n, () => { for (let i = 0; i < n; i++) fs.unlinkSync(dir + '/g' + i); });
process.stdout.write(JSON.stringify(out));
`;

async function metadata(
  t: Target,
  runNo: number,
): Promise<Record<'stat' | 'readdir' | 'rename' | 'unlink', number>> {
  const dir = join(t.dir(), `creates-${runNo}`);
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const r = await timed(`run ${runNo} ${t.name} stat/readdir/rename/unlink x${FILES}`, t.watch, () =>
    run(process.execPath, ['-e', META_SCRIPT, dir, String(FILES)], env),
  );
  return JSON.parse(r.value);
}

/** 4 KiB random reads per second over the big file (fio, psync, queue depth 1, cold start). */
async function randRead(t: Target, runNo: number): Promise<number> {
  const file = join(t.dir(), 'big.bin');
  const r = await timed(`run ${runNo} ${t.name} randread 4k`, t.watch, () =>
    run('fio', [
      '--name=randread',
      `--filename=${file}`,
      '--rw=randread',
      '--bs=4k',
      '--ioengine=psync',
      '--runtime=10',
      '--time_based',
      `--size=${SIZE}`,
      '--output-format=json',
    ]),
  );
  const iops = (JSON.parse(r.value) as { jobs: Array<{ read: { iops: number } }> }).jobs[0]!.read.iops;
  if (!(iops > 0)) throw new Error(`${t.name}: fio randread reported no I/O`);
  return iops;
}

// ---- SDK figures ------------------------------------------------------------------------------

/** The run's source bytes with the first 16 bytes of every MiB replaced, so no chunk equals one
 * already stored through the mount (dedup would skip the put). */
function sdkData(src: string): Buffer {
  const data = readFileSync(src);
  for (let off = 0; off < data.length; off += MIB) randomBytes(16).copy(data, off);
  return data;
}

function serverWatch(server: ServerHandle): Watched {
  return { name: 'kiseki-server', pid: () => server.proc.pid };
}

async function sdkWrite(server: ServerHandle, data: Buffer, path: string, runNo: number): Promise<number> {
  const k = await sdk(server);
  try {
    const st = await k.fs.create(path);
    const f = await k.client.open(st.ino);
    const r = await timed(`run ${runNo} kiseki sdk-write`, [selfWatch, serverWatch(server)], async () => {
      try {
        for (let off = 0; off < data.length; off += MIB) await f.write(off, data.subarray(off, off + MIB));
      } finally {
        await k.client.release(f); // flush: sealed, durable on the chunk server, committed
      }
      return { value: undefined };
    });
    return data.length / MB / r.s;
  } finally {
    await k.close();
  }
}

async function sdkRead(server: ServerHandle, data: Buffer, path: string, runNo: number): Promise<number> {
  const k = await sdk(server);
  try {
    const st = await k.fs.stat(path);
    if (st.size !== data.length) throw new Error(`sdk file has ${st.size} bytes, expected ${data.length}`);
    const f = await k.client.open(st.ino);
    let compareS = 0;
    const buf = Buffer.allocUnsafe(MIB); // one reused buffer, as a FUSE read lands in FUSE's memory
    const r = await timed(`run ${runNo} kiseki sdk-read`, [selfWatch, serverWatch(server)], async () => {
      try {
        for (let off = 0; off < data.length; off += MIB) {
          const b = buf.subarray(0, await f.readInto(off, buf));
          const c0 = process.hrtime.bigint();
          if (!b.equals(data.subarray(off, off + MIB)))
            throw new Error(`sdk read differs at ${off} (${b.length} bytes)`);
          compareS += Number(process.hrtime.bigint() - c0) / 1e9;
        }
      } finally {
        await k.client.release(f);
      }
      return { value: undefined };
    });
    return data.length / MB / (r.s - compareS);
  } finally {
    await k.close();
  }
}

async function plainFsWrite(path: string, data: Buffer, runNo: number): Promise<number> {
  const r = await timed(`run ${runNo} plain-fs write`, [selfWatch], async () => {
    const fd = openSync(path, 'w');
    try {
      for (let off = 0; off < data.length; off += MIB) {
        const n = Math.min(MIB, data.length - off);
        for (let w = 0; w < n; ) w += writeSync(fd, data, off + w, n - w, off + w);
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return { value: undefined };
  });
  return data.length / MB / r.s;
}

async function plainFsRead(path: string, data: Buffer, runNo: number): Promise<number> {
  const buf = Buffer.allocUnsafe(MIB);
  let compareS = 0;
  const r = await timed(`run ${runNo} plain-fs read`, [selfWatch], async () => {
    const fd = openSync(path, 'r');
    try {
      for (let off = 0; off < data.length; off += MIB) {
        let n = 0;
        while (n < MIB) {
          const got = readSync(fd, buf, n, MIB - n, off + n);
          if (got === 0) break;
          n += got;
        }
        const c0 = process.hrtime.bigint();
        if (!buf.subarray(0, n).equals(data.subarray(off, off + MIB)))
          throw new Error('plain-fs read differs');
        compareS += Number(process.hrtime.bigint() - c0) / 1e9;
      }
    } finally {
      closeSync(fd);
    }
    return { value: undefined };
  });
  return data.length / MB / (r.s - compareS);
}

// ---- output ----------------------------------------------------------------------------------

const results = new Map<string, number[]>();
function record(key: string, v: number): void {
  results.set(key, [...(results.get(key) ?? []), v]);
}
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function context(work: string, src: Source): string[] {
  const df = spawnSync('df', ['-hT', work], { encoding: 'utf8' }).stdout.trim().split('\n')[1] ?? '';
  const gv = spawnSync('gocryptfs', ['-version'], { encoding: 'utf8' }).stdout.trim();
  return [
    `# machine: ${cpus()[0]?.model ?? '?'} x${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, kernel ${release()}, node ${process.version}`,
    `# ${gv}`,
    `# work dir on: ${df.replace(/\s+/g, ' ')}`,
    `# source: ${SIZE_MIB} MiB of fresh random data per run on ${src.onTmpfs ? 'tmpfs /dev/shm' : 'disk (pre-read into the page cache)'}`,
    `# size ${SIZE_MIB} MiB, files ${FILES}, runs ${RUNS} (figures are medians), Kiseki device ${(DEVICE_BYTES / 2 ** 30).toFixed(1)} GiB, ` +
      `drop_caches ${canDropCaches ? 'yes' : 'NO (reads may be cached)'}; MB = 10^6 bytes`,
  ];
}

// ---- main --------------------------------------------------------------------------------------

async function main(): Promise<void> {
  if (!existsSync('/dev/fuse')) throw new Error('/dev/fuse is missing');
  const work = mkdtempSync(join(tmpdir(), 'kiseki-fusebench-'));
  cleanups.push(() => removeTree(work));
  const home = join(work, 'home');
  const plainDir = join(work, 'plain');
  const cipher = join(work, 'gocryptfs-cipher');
  const gmnt = join(work, 'gocryptfs-mnt');
  const kmnt = join(work, 'kiseki-mnt');
  for (const d of [home, plainDir, kmnt]) mkdirSync(d, { recursive: true });
  if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true });
  const profOpts = PROFILE_DIR ? `--cpu-prof --cpu-prof-dir=${PROFILE_DIR}` : '';
  const withProfile = async <T>(fn: () => Promise<T>): Promise<T> => {
    // bin/run-ts passes KISEKI_NODE_ARGS to node (NODE_OPTIONS refuses --cpu-prof).
    const saved = process.env.KISEKI_NODE_ARGS;
    if (profOpts) process.env.KISEKI_NODE_ARGS = `${saved ?? ''} ${profOpts}`.trim();
    try {
      return await fn();
    } finally {
      if (saved === undefined) delete process.env.KISEKI_NODE_ARGS;
      else process.env.KISEKI_NODE_ARGS = saved;
    }
  };

  const src = sourcePlace(work);
  if (!SDK_ONLY) await gocryptfsInit(cipher);
  const dev = statSync(work).dev;
  for (const d of SDK_ONLY ? [home, plainDir] : [home, plainDir, cipher])
    if (statSync(d).dev !== dev) throw new Error(`${d} is not on the same filesystem as ${work}`);

  const server = await withProfile(() => startServer({ home, deviceSizeBytes: DEVICE_BYTES }));
  cleanups.push(() => server.stop());
  let kiseki: MountHandle | undefined;
  const mountKiseki = async () => {
    kiseki = await withProfile(() => mountFs(server, { mountpoint: kmnt }));
  };
  if (!SDK_ONLY) await mountKiseki();
  cleanups.push(() => kiseki?.unmount());
  let gocrypt: Gocryptfs | undefined = SDK_ONLY ? undefined : await gocryptfsMount(cipher, gmnt);
  cleanups.push(() => gocrypt?.unmount());

  const targets: Target[] = [
    { name: 'plain', dir: () => plainDir, coldStart: dropCaches, watch: [] },
    {
      name: 'gocryptfs',
      dir: () => gmnt,
      async coldStart() {
        await gocrypt?.unmount();
        await dropCaches();
        gocrypt = await gocryptfsMount(cipher, gmnt);
      },
      watch: [{ name: 'gocryptfs', pid: () => gocrypt?.proc.pid }],
    },
    {
      name: 'kiseki',
      dir: () => kmnt,
      async coldStart() {
        await kiseki!.unmount();
        await dropCaches();
        await mountKiseki();
      },
      watch: [
        { name: 'mount.kiseki', pid: () => kiseki?.proc.pid },
        { name: 'kiseki-server', pid: () => server.proc.pid },
      ],
    },
  ];

  for (let runNo = 1; runNo <= RUNS; runNo++) {
    log(`run ${runNo}/${RUNS}: preparing ${SIZE_MIB} MiB of random data`);
    fillSource(src);
    // 1. sequential write, each from a synced, dropped page cache with the source warm
    for (const t of SDK_ONLY ? [] : targets) {
      await dropCaches();
      await warmSource(src);
      record(`${t.name}/write`, await ddWrite(t, src.path, runNo));
    }
    // 2. sequential read, cold
    for (const t of SDK_ONLY ? [] : targets) {
      await t.coldStart();
      record(`${t.name}/read`, await ddRead(t, src.path, runNo));
      await t.coldStart();
      record(`${t.name}/randread`, await randRead(t, runNo));
      if (t.name !== 'kiseki') rmSync(join(t.dir(), 'big.bin'), { force: true });
    }
    // 3. creates (a fresh Kiseki mount, so a --profile shows them apart)
    if (!SDK_ONLY) await targets[2]!.coldStart();
    for (const t of SDK_ONLY ? [] : targets) {
      await dropCaches();
      record(`${t.name}/create`, await creates(t, runNo));
      await dropCaches();
      for (const [k, v] of Object.entries(await metadata(t, runNo))) record(`${t.name}/${k}`, v);
    }
    // 4. SDK, no FUSE (the mounts are idle)
    const data = sdkData(src.path);
    const plainFile = join(plainDir, 'sdk-big.bin');
    await dropCaches();
    record('plain-fs/write', await plainFsWrite(plainFile, data, runNo));
    await dropCaches();
    record('kiseki/sdk-write', await sdkWrite(server, data, `/sdk-big-${runNo}.bin`, runNo));
    await dropCaches();
    record('plain-fs/read', await plainFsRead(plainFile, data, runNo));
    await dropCaches();
    record('kiseki/sdk-read', await sdkRead(server, data, `/sdk-big-${runNo}.bin`, runNo));
    rmSync(plainFile, { force: true });
  }
  await kiseki?.unmount();
  await gocrypt?.unmount();

  const lines: string[] = [];
  const figure = (name: string, key: string, unit: string, ref: string, refKey: string) => {
    const v = median(results.get(key)!);
    const r = median(results.get(refKey)!);
    lines.push(
      `bench fuse ${name}: ${v.toFixed(1)} ${unit} | ${ref}: ${r.toFixed(1)} ${unit} | ratio ${(v / r).toFixed(2)}`,
    );
  };
  for (const [fig, key, unit] of SDK_ONLY
    ? []
    : ([
        [`seq-write-${SIZE_LABEL}`, 'write', 'MB/s'],
        [`seq-read-${SIZE_LABEL}`, 'read', 'MB/s'],
        [`create-${FILES}`, 'create', 'files/s'],
        ['randread-4k', 'randread', 'IOPS'],
        [`stat-${FILES}`, 'stat', 'ops/s'],
        [`readdir-${FILES}`, 'readdir', 'entries/s'],
        [`rename-${FILES}`, 'rename', 'ops/s'],
        [`unlink-${FILES}`, 'unlink', 'ops/s'],
      ] as const)) {
    figure(fig, `kiseki/${key}`, unit, 'gocryptfs', `gocryptfs/${key}`);
    figure(fig, `kiseki/${key}`, unit, 'plain', `plain/${key}`);
  }
  figure(`sdk-write-${SIZE_LABEL}`, 'kiseki/sdk-write', 'MB/s', 'plain-fs', 'plain-fs/write');
  figure(`sdk-read-${SIZE_LABEL}`, 'kiseki/sdk-read', 'MB/s', 'plain-fs', 'plain-fs/read');
  const perRun = [...results].map(([k, vs]) => `# runs ${k}: ${vs.map((v) => v.toFixed(1)).join(' ')}`);
  console.log([...context(work, src), ...perRun, ...notes, ...lines].join('\n'));
}

try {
  await main();
} finally {
  await runCleanups();
}
