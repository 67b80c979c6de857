/**
 * A real crash: a child process writes and frees extents through DeviceAllocator on a
 * DirectDevice (a loop device when root, else a file) and prints each acknowledged operation;
 * we SIGKILL its process group mid-stream, reopen the device and check every acknowledgement.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeviceAllocator } from './allocator.ts';
import { DirectDevice } from './direct-device.ts';
import { payloadOf } from './testdata/allocator-payload.ts';
import { groupGone, spawnGroupChild } from './testdata/process-group.ts';

const CHILD = fileURLToPath(new URL('./testdata/allocator-kill-child.ts', import.meta.url));
const ACKS_BEFORE_KILL = 300;
let dir: string;
let loop: string | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiseki-alloc-kill-'));
});
afterEach(async () => {
  if (loop !== undefined) execFileSync('losetup', ['-d', loop], { timeout: 30_000 });
  loop = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe('DeviceAllocator under kill -9', () => {
  it('I-C8: after SIGKILL mid-stream the bitmap is consistent, acknowledged writes read back, acknowledged frees are gone', async () => {
    let path = join(dir, 'dev.img');
    execFileSync('truncate', ['-s', String(64 << 20), path]);
    if (process.getuid?.() === 0) {
      loop = execFileSync('losetup', ['-f', '--show', path], { encoding: 'utf8', timeout: 30_000 }).trim();
      path = loop;
    }
    const { child, stderr, exited } = spawnGroupChild(CHILD, [path]);
    const puts = new Map<number, { start: number; count: number }>();
    const frees = new Set<number>();
    await new Promise<void>((resolve, reject) => {
      let acks = 0;
      createInterface({ input: child.stdout }).on('line', (line) => {
        const [op, seed, start, count] = line.split(' ');
        if (op === 'put') puts.set(Number(seed), { start: Number(start), count: Number(count) });
        else if (op === 'free') frees.add(Number(seed));
        else return;
        if (++acks === ACKS_BEFORE_KILL) {
          process.kill(-child.pid!, 'SIGKILL');
          resolve();
        }
      });
      void exited.then(() => reject(new Error(`child exited early: ${stderr().slice(0, 2000)}`)));
    });
    expect(await exited).toBe('SIGKILL');
    await groupGone(child.pid!);

    const { allocator, report } = await DeviceAllocator.open(await DirectDevice.open(path));
    try {
      expect(report.leakedBlocks).toBe(0);
      const extents = await allocator.check(); // bitmap invariants + used blocks tiled exactly
      const bySeed = new Map(extents.map((e) => [Buffer.from(e.owner).readUInt32LE(0), e.ref]));
      expect(frees.size).toBeGreaterThan(0);
      for (const seed of frees) expect(bySeed.has(seed), `freed ${seed}`).toBe(false);
      for (const [seed, ref] of puts) {
        if (frees.has(seed)) continue;
        expect(bySeed.get(seed), `put ${seed}`).toEqual(ref);
        expect((await allocator.read(ref)).payload.equals(payloadOf(seed).payload)).toBe(true);
      }
      for (const [seed, ref] of bySeed) {
        // Survivors not acknowledged were in flight: whole, never torn.
        expect((await allocator.read(ref)).payload.equals(payloadOf(seed).payload)).toBe(true);
      }
    } finally {
      await allocator.close();
    }
  }, 60_000);
});
