/**
 * `pnpm bench chunks`: erasure coding and raw device throughput, each against a reference in
 * the same run:
 *
 *   ec-encode-4+2        encodeChunk of 1 MiB chunks (ISA-L + CRC-32C + fragment headers),
 *                        GB/s of chunk bytes on one core                 vs the bar, 2 GB/s
 *   ec-decode-4+2-lost2  decodeChunk with two data fragments missing (degraded read), GB/s
 *                                                                        vs the bar, 2 GB/s
 *   device-seq-write     DirectDevice (O_DIRECT, aligned bounce buffers) 4 MiB writes, 2 in
 *                        flight, then fdatasync, MB/s     vs fio --direct=1 bs=1M iodepth=8
 *   device-seq-read      DirectDevice readInto 4 MiB, 2 in flight, MB/s  vs fio the same
 *   device-seq-*-aligned the same from/into directBuffer memory (no bounce copy) vs fio
 *   aligned-alloc-1m     fresh 1 MiB aligned buffer + first touch, µs: posix_memalign (native)
 *                        vs WebAssembly.Memory
 *
 * One line per figure on stdout:
 *   bench chunks <figure>: <v> <unit> | <reference>: <v> <unit> | ratio <kiseki/reference>
 * (for µs figures the ratio is reference/kiseki, so > 1 means ours is faster). Device figures
 * are the median of --runs runs, Kiseki and fio alternating, on files in --dir (default the OS
 * temp dir: the same disk for both). Lines starting with '#' are context. MB = 10^6 bytes.
 *
 *   flock /tmp/kiseki-bench.lock bin/run-ts test/bench/chunks.bench.ts [--size-mb 1024] [--runs 3] [--dir DIR]
 *
 * Everything is created in a fresh temp directory, removed at the end, also on failure.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { alignedBuffer, ecEncode, ecReconstruct } from '../../native/index.ts';
import { DirectDevice, directBuffer } from '../../server/src/block/index.ts';
import { decodeChunk, encodeChunk, encodedBytes } from '../../server/src/chunk/ec/index.ts';

const MIB = 1 << 20;
const { values: args } = parseArgs({
  options: {
    'size-mb': { type: 'string', default: '1024' },
    runs: { type: 'string', default: '3' },
    dir: { type: 'string', default: tmpdir() },
  },
  strict: true,
});
const SIZE = Number(args['size-mb']) * MIB;
const RUNS = Number(args.runs);
if (!Number.isSafeInteger(SIZE) || SIZE < 16 * MIB) throw new Error('--size-mb must be an integer >= 16');
if (!Number.isSafeInteger(RUNS) || RUNS < 1) throw new Error('--runs must be a positive integer');
const EC_SECONDS = 1.5;
const IO_BYTES = 4 * MIB;
const IO_INFLIGHT = 2;
const BAR_EC_GBPS = 2;

const log = (s: string) => process.stderr.write(`chunks-bench: ${s}\n`);
const line = (figure: string, v: number, unit: string, ref: string, rv: number, ratio: number, digits = 2) =>
  console.log(
    `bench chunks ${figure}: ${v.toFixed(digits)} ${unit} | ${ref}: ${rv.toFixed(digits)} ${unit} | ratio ${ratio.toFixed(2)}`,
  );
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Runs `fn` repeatedly for about EC_SECONDS; bytes per call / time, in GB/s. */
function gbps(bytesPerCall: number, fn: () => void): number {
  for (let i = 0; i < 20; i++) fn(); // warm up (tables, JIT)
  let calls = 0;
  const t0 = performance.now();
  let dt = 0;
  while (dt < EC_SECONDS * 1000) {
    for (let i = 0; i < 20; i++) fn();
    calls += 20;
    dt = performance.now() - t0;
  }
  return (calls * bytesPerCall) / 1e9 / (dt / 1000);
}

function erasureCoding(): void {
  const chunk = randomBytes(MIB);
  const policy = { k: 4, m: 2 };
  const frags = encodeChunk(chunk, policy);
  // Reused output buffers, as a chunk server's pipeline keeps them (fresh memory is slow to touch).
  const encOut = Buffer.alloc(encodedBytes(chunk.length, policy));
  const decOut = Buffer.alloc(chunk.length);
  const scratch = Buffer.alloc(encodedBytes(chunk.length, policy));
  const enc = gbps(chunk.length, () => encodeChunk(chunk, policy, encOut));
  line('ec-encode-4+2', enc, 'GB/s', 'bar', BAR_EC_GBPS, enc / BAR_EC_GBPS);
  const degraded = frags.map((f, i) => (i < 2 ? undefined : f));
  const dec = gbps(chunk.length, () => decodeChunk(degraded, policy, { into: decOut, scratch }));
  line('ec-decode-4+2-lost2', dec, 'GB/s', 'bar', BAR_EC_GBPS, dec / BAR_EC_GBPS);
  const healthy = gbps(chunk.length, () => decodeChunk(frags, policy, { into: decOut }));
  const fresh = gbps(chunk.length, () => encodeChunk(chunk, policy));
  // ISA-L alone, on preallocated fragments: what the wrapper's copies and CRCs cost.
  const data = [0, 1, 2, 3].map((i) => chunk.subarray(i * (MIB / 4), (i + 1) * (MIB / 4)));
  const parity = [Buffer.alloc(MIB / 4), Buffer.alloc(MIB / 4)];
  const rawEnc = gbps(chunk.length, () => ecEncode(4, 2, data, parity));
  const all = [...data.map((d) => Buffer.from(d)), ...parity];
  const rawDec = gbps(chunk.length, () => ecReconstruct(4, 2, all, [0, 1]));
  console.log(
    `# ec 4+2 on 1 MiB chunks, one core: decode with nothing lost ${healthy.toFixed(2)} GB/s (CRC checks + copy)`,
  );
  console.log(
    `# ISA-L alone: encode ${rawEnc.toFixed(2)} GB/s, reconstruct 2 of 4 data ${rawDec.toFixed(2)} GB/s`,
  );
  console.log(`# bar ec-encode-4+2 >= ${BAR_EC_GBPS} GB/s: ${enc >= BAR_EC_GBPS ? 'met' : 'NOT met'}`);
}

async function deviceRun(
  dir: string,
  data: Buffer[],
  targets: Buffer[],
): Promise<{ write: number; read: number }> {
  const path = join(dir, 'kiseki-device');
  const dev = await DirectDevice.format(path, { sizeBytes: SIZE + 16 * MIB, force: true });
  try {
    const pipeline = async (op: (off: number, i: number) => Promise<void>): Promise<number> => {
      const t0 = performance.now();
      const inflight: Promise<void>[] = [];
      for (let off = 0, i = 0; off < SIZE; off += IO_BYTES, i++) {
        inflight.push(op(dev.dataStartBytes + off, i));
        if (inflight.length >= IO_INFLIGHT) await inflight.shift();
      }
      await Promise.all(inflight);
      return performance.now() - t0;
    };
    const wMs = await pipeline((off, i) => dev.write(off, data[i % data.length]!));
    const t0 = performance.now();
    await dev.sync();
    const write = SIZE / 1e6 / ((wMs + performance.now() - t0) / 1000);
    const rMs = await pipeline((off, i) => dev.readInto(off, targets[i % IO_INFLIGHT]!));
    return { write, read: SIZE / 1e6 / (rMs / 1000) };
  } finally {
    await dev.close();
    rmSync(path, { force: true });
  }
}

function fio(dir: string, rw: 'write' | 'read'): number {
  const args = [
    `--name=kiseki-ref-${rw}`,
    `--filename=${join(dir, 'fio-device')}`,
    `--rw=${rw}`,
    '--bs=1M',
    '--direct=1',
    '--ioengine=libaio',
    '--iodepth=8',
    `--size=${SIZE}`,
    '--output-format=json',
    ...(rw === 'write' ? ['--end_fsync=1'] : []),
  ];
  const r = spawnSync('fio', args, { encoding: 'utf8', timeout: 10 * 60_000 });
  if (r.status !== 0) throw new Error(`fio failed: ${r.stderr || r.error?.message}`);
  const job = JSON.parse(r.stdout).jobs[0];
  return job[rw].bw_bytes / 1e6;
}

async function devices(dir: string): Promise<void> {
  // Ordinary Buffers (copied through the device's aligned bounce buffers) and, for the
  // "-aligned" figures, memory from directBuffer that goes to the device as is.
  const data = [randomBytes(IO_BYTES), randomBytes(IO_BYTES)];
  const targets = Array.from({ length: IO_INFLIGHT }, () => Buffer.alloc(IO_BYTES));
  const dataAligned = data.map((d) => {
    const b = directBuffer(IO_BYTES);
    b.set(d);
    return b;
  });
  const targetsAligned = Array.from({ length: IO_INFLIGHT }, () => directBuffer(IO_BYTES));
  const ours = { write: [] as number[], read: [] as number[] };
  const aligned = { write: [] as number[], read: [] as number[] };
  const ref = { write: [] as number[], read: [] as number[] };
  for (let run = 0; run < RUNS; run++) {
    const fioFirst = run % 2 === 1;
    if (fioFirst) {
      ref.write.push(fio(dir, 'write'));
      ref.read.push(fio(dir, 'read'));
    }
    const r = await deviceRun(dir, data, targets);
    ours.write.push(r.write);
    ours.read.push(r.read);
    const a = await deviceRun(dir, dataAligned, targetsAligned);
    aligned.write.push(a.write);
    aligned.read.push(a.read);
    if (!fioFirst) {
      ref.write.push(fio(dir, 'write'));
      ref.read.push(fio(dir, 'read'));
    }
    rmSync(join(dir, 'fio-device'), { force: true });
    log(
      `run ${run + 1}/${RUNS}: aligned write ${a.write.toFixed(0)}, read ${a.read.toFixed(0)}; write ${r.write.toFixed(0)} vs fio ${ref.write.at(-1)!.toFixed(0)} MB/s, read ${r.read.toFixed(0)} vs ${ref.read.at(-1)!.toFixed(0)} MB/s`,
    );
  }
  for (const k of ['write', 'read'] as const) {
    const a = median(ours[k]);
    const b = median(ref[k]);
    const c = median(aligned[k]);
    line(`device-seq-${k}`, a, 'MB/s', 'fio', b, a / b, 0);
    line(`device-seq-${k}-aligned`, c, 'MB/s', 'fio', b, c / b, 0);
    const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' ');
    console.log(
      `# device-seq-${k} runs: kiseki ${fmt(ours[k])}; aligned ${fmt(aligned[k])}; fio ${fmt(ref[k])}`,
    );
  }
}

/** Fresh 1 MiB aligned buffers, allocated and touched: posix_memalign vs WebAssembly.Memory. */
function alignedMemory(): void {
  const N = 64;
  const time = (make: () => Uint8Array): number => {
    const keep: Uint8Array[] = [];
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      const b = make();
      b.fill(1);
      keep.push(b);
    }
    return ((performance.now() - t0) * 1000) / N;
  };
  const native = time(() => alignedBuffer(MIB, 4096));
  const wasm = time(() => new Uint8Array(new WebAssembly.Memory({ initial: MIB / 65536 }).buffer));
  line('aligned-alloc-1m', native, 'µs', 'wasm-memory', wasm, wasm / native, 0);
}

const dir = mkdtempSync(join(args.dir, 'kiseki-chunks-bench-'));
try {
  console.log(
    `# ${cpus().length} cores (${cpus()[0]?.model}), load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}; ${SIZE / MIB} MiB per device run, ${RUNS} runs, in ${dir}`,
  );
  log('erasure coding');
  erasureCoding();
  log('aligned memory');
  alignedMemory();
  log('devices');
  await devices(dir);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
