/**
 * Child process for store-kill.test.ts: `npx tsx kill-child.ts <dir> <devicePath>`.
 * Puts envelopes forever with 8 in flight and prints each acknowledged seed on its own line,
 * after the put resolved (so every printed seed is durable). The parent kills it with SIGKILL.
 */
import { ChunkStore } from '../store.ts';
import { envelope, idOf, lengthFor, TENANT } from './envelopes.ts';

const [dir, devicePath] = process.argv.slice(2);
if (dir === undefined || devicePath === undefined) throw new Error('usage: kill-child.ts <dir> <devicePath>');
const store = await ChunkStore.open({ dir, devicePath, deviceSizeBytes: 256 << 20 });
process.stdout.write('ready\n');
let next = 0;
async function worker(): Promise<void> {
  for (;;) {
    const seed = next++;
    const bytes = envelope(seed, lengthFor(seed));
    await store.put(TENANT, idOf(bytes), bytes);
    process.stdout.write(`${seed}\n`);
    if (next > 100_000) return;
  }
}
await Promise.all(Array.from({ length: 8 }, worker));
