/**
 * Child process for allocator-kill.test.ts: `npx tsx allocator-kill-child.ts <device>`.
 * Formats a DirectDevice and a DeviceAllocator on <device>, prints 'ready', then writes extents
 * forever with 8 in flight and every 4th write frees an earlier extent. After each write
 * resolves it prints `put <seed> <start> <count>`, after each free `free <seed>`: every
 * printed line is durable. The parent kills it with SIGKILL.
 */
import { DeviceAllocator, DirectDevice } from '../index.ts';
import { payloadOf } from './allocator-payload.ts';

const [path] = process.argv.slice(2);
if (path === undefined) throw new Error('usage: allocator-kill-child.ts <device>');
const alloc = await DeviceAllocator.format(
  await DirectDevice.format(path, { sizeBytes: 64 << 20, force: true }),
);
process.stdout.write('ready\n');
const live: { seed: number; ref: { start: number; count: number } }[] = [];
let next = 0;
async function worker(): Promise<void> {
  while (next < 100_000) {
    const seed = next++;
    if (seed % 4 === 3 && live.length > 8) {
      const victim = live.splice(seed % live.length, 1)[0]!;
      await alloc.free(victim.ref);
      process.stdout.write(`free ${victim.seed}\n`);
      continue;
    }
    const { payload, owner } = payloadOf(seed);
    const ref = await alloc.write(payload, owner);
    live.push({ seed, ref });
    process.stdout.write(`put ${seed} ${ref.start} ${ref.count}\n`);
  }
}
await Promise.all(Array.from({ length: 8 }, worker));
