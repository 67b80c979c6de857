/**
 * Throughput of ChunkStore put/get with 1 MiB envelopes at concurrency 1 and 8, against plain
 * `fs` writes + fdatasync (and reads) of the same sizes in a file on the same disk.
 * Not part of the test suite (belongs in test/bench/ once that exists):
 *
 *   npx tsx server/src/chunk/store-bench.ts [dir] [envelopes-per-run] [reps]
 *
 * Reads are served from the page cache on both sides (we don't drop caches on a shared
 * machine), so they measure the software path: syscalls, copies and the CRC-32C check.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChunkIdHex, TenantId } from '@kiseki/proto';
import { ChunkStore } from './store.ts';

const ENVELOPE_BYTES = (1 << 20) + 80;
const base = process.argv[2] ?? tmpdir();
const count = Number(process.argv[3] ?? 256);
const reps = Number(process.argv[4] ?? 3);
const tenant = 'bench' as TenantId;
const bodies = Array.from({ length: 16 }, () => randomBytes(ENVELOPE_BYTES));

async function pool(concurrency: number, n: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < n; i = next++) await fn(i);
    }),
  );
}

function mbps(bytes: number, ms: number): number {
  return Math.round(bytes / 1e6 / (ms / 1e3));
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function benchStore(dir: string, concurrency: number) {
  const store = await ChunkStore.open({
    dir,
    devicePath: join(dir, 'chunks.dev'),
    deviceSizeBytes: Math.ceil((count * 1.1 * (ENVELOPE_BYTES + 4096)) / 4096) * 4096 + (64 << 20),
    criticalRatio: 1,
  });
  const ids = Array.from({ length: count }, () => randomBytes(32).toString('hex') as ChunkIdHex);
  const putMs = await timed(() =>
    pool(concurrency, count, (i) => store.put(tenant, ids[i]!, bodies[i % 16]!).then(() => {})),
  );
  const c = { ...store.counters };
  const getMs = await timed(() => pool(concurrency, count, (i) => store.get(tenant, ids[i]!).then(() => {})));
  await store.close();
  return { putMs, getMs, syncs: c.deviceSyncs, txns: c.commitTxns };
}

async function benchFs(dir: string, concurrency: number, syncEvery: 'write' | 'batch') {
  const fh = await open(join(dir, 'plain.dat'), 'w+');
  await fh.truncate(count * ENVELOPE_BYTES);
  let writeMs: number;
  if (syncEvery === 'write') {
    writeMs = await timed(() =>
      pool(concurrency, count, async (i) => {
        await fh.write(bodies[i % 16]!, 0, ENVELOPE_BYTES, i * ENVELOPE_BYTES);
        await fh.datasync();
      }),
    );
  } else {
    // Reference for group commit: `concurrency` writes in parallel, then one fdatasync.
    writeMs = await timed(async () => {
      for (let i = 0; i < count; i += concurrency) {
        const n = Math.min(concurrency, count - i);
        await Promise.all(
          Array.from({ length: n }, (_, k) =>
            fh.write(bodies[(i + k) % 16]!, 0, ENVELOPE_BYTES, (i + k) * ENVELOPE_BYTES),
          ),
        );
        await fh.datasync();
      }
    });
  }
  const readMs = await timed(() =>
    pool(concurrency, count, async (i) => {
      const buf = Buffer.allocUnsafe(ENVELOPE_BYTES);
      await fh.read(buf, 0, ENVELOPE_BYTES, i * ENVELOPE_BYTES);
    }),
  );
  await fh.close();
  return { writeMs, readMs };
}

const bytes = count * ENVELOPE_BYTES;
console.log(
  `envelopes: ${count} x ${ENVELOPE_BYTES} B (${(bytes / 1e6).toFixed(0)} MB) per run, ${reps} reps, dir ${base}`,
);
for (const concurrency of [1, 8]) {
  for (let rep = 0; rep < reps; rep++) {
    const dir = await mkdtemp(join(base, 'kiseki-bench-'));
    try {
      const s = await benchStore(dir, concurrency);
      const f = await benchFs(dir, concurrency, 'write');
      const g = concurrency > 1 ? await benchFs(dir, concurrency, 'batch') : undefined;
      console.log(
        [
          `c=${concurrency} rep ${rep}:`,
          `store put ${mbps(bytes, s.putMs)} MB/s (${s.syncs} fdatasync, ${s.txns} lmdb txns)`,
          `fs write+fdatasync ${mbps(bytes, f.writeMs)} MB/s`,
          g ? `fs ${concurrency} writes/fdatasync ${mbps(bytes, g.writeMs)} MB/s` : '',
          `| store get ${mbps(bytes, s.getMs)} MB/s`,
          `fs read ${mbps(bytes, f.readMs)} MB/s`,
        ]
          .filter(Boolean)
          .join('  '),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
