/**
 * WAL append throughput: durable appends/s of 200-byte records at 1 and 64 concurrent
 * appenders, against a reference run in the same go (raw write + fdatasync of 228 bytes on a
 * plain file, one at a time). Not part of the test suite.
 *
 *   node --import tsx server/src/log/bench-wal.ts [seconds-per-case=3]
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wal } from '../../server/src/log/wal.ts';

const RECORD_BYTES = 200;
const seconds = Number(process.argv[2] ?? 3);

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
}

async function reference(dir: string): Promise<number> {
  const fh = await open(join(dir, 'ref'), 'w');
  const buf = Buffer.alloc(RECORD_BYTES + 28, 7);
  let pos = 0;
  let n = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    await fh.write(buf, 0, buf.length, pos);
    await fh.datasync();
    pos += buf.length;
    n++;
  }
  await fh.close();
  return n / seconds;
}

async function walCase(dir: string, appenders: number): Promise<string> {
  const wal = await Wal.open(join(dir, `wal-${appenders}`));
  const payload = Buffer.alloc(RECORD_BYTES, 1);
  const lat: number[] = [];
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: appenders }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await wal.append([payload]);
        lat.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const st = wal.stats;
  await wal.close();
  lat.sort((a, b) => a - b);
  const rate = st.records / elapsed;
  return (
    `${String(appenders).padStart(2)} appender(s): ${Math.round(rate)} appends/s, ` +
    `${Math.round(st.datasyncs / elapsed)} fdatasync/s, ${(st.records / st.datasyncs).toFixed(1)} records/sync, ` +
    `latency p50 ${pct(lat, 50).toFixed(2)} ms p99 ${pct(lat, 99).toFixed(2)} ms`
  );
}

const dir = await mkdtemp(join(tmpdir(), 'kiseki-walbench-'));
try {
  const ref = await reference(dir);
  console.log(`reference: ${Math.round(ref)} write+fdatasync/s (one at a time)`);
  for (const n of [1, 64]) {
    const line = await walCase(dir, n);
    const rate = Number(/: (\d+) appends/.exec(line)![1]);
    console.log(`${line}  (${(rate / ref).toFixed(2)}x reference)`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
