/**
 * Child process for the kill -9 test (wal-crash.test.ts): opens the WAL in argv[2] and appends
 * forever from several concurrent appenders, printing `<seq> <k>` for every acknowledged record
 * (k identifies the payload: crashPayload(k)). The parent SIGKILLs it at a random moment.
 */
import { Wal } from './wal.ts';
import { crashPayload } from './wal-crash-payload.ts';

const [dir, segmentBytes, startK] = process.argv.slice(2);
const wal = await Wal.open(dir!, { segment_bytes_max: Number(segmentBytes) });
process.stdout.write(`opened ${wal.lastSeq} ${wal.recovery.outcome} ${wal.recovery.truncatedBytes}\n`);
let next = Number(startK);

async function appender(): Promise<never> {
  for (;;) {
    const n = next % 3 === 0 ? 2 : 1; // some appends carry two records
    const ks = Array.from({ length: n }, () => next++);
    const seqs = await wal.append(ks.map(crashPayload));
    process.stdout.write(seqs.map((seq, i) => `${seq} ${ks[i]}\n`).join(''));
  }
}

await Promise.all(Array.from({ length: 8 }, appender));
