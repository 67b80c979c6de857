/**
 * A real crash: a child process puts chunks and prints each acknowledged one; we SIGKILL its
 * whole process group mid-stream, reopen the store from disk and read every acknowledged chunk.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { groupGone, spawnGroupChild } from '../block/testdata/process-group.ts';
import { ChunkStore } from './store.ts';
import { envelope, idOf, lengthFor, TENANT } from './testdata/envelopes.ts';

const CHILD = fileURLToPath(new URL('./testdata/kill-child.ts', import.meta.url));
const ACKS_BEFORE_KILL = 150;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiseki-kill-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ChunkStore under kill -9', () => {
  it('I-L5: every put acknowledged before SIGKILL reads back identical after reopen', async () => {
    const devicePath = join(dir, 'chunks.dev');
    const { child, stderr, exited } = spawnGroupChild(CHILD, [dir, devicePath]);
    const acked: number[] = [];
    await new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout });
      lines.on('line', (line) => {
        if (line === 'ready') return;
        acked.push(Number(line));
        if (acked.length === ACKS_BEFORE_KILL) {
          process.kill(-child.pid!, 'SIGKILL');
          resolve();
        }
      });
      void exited.then(() => reject(new Error(`child exited early: ${stderr().slice(0, 2000)}`)));
    });
    expect(await exited).toBe('SIGKILL');
    await groupGone(child.pid!); // npx exits first; its node grandchild may still be dying

    const store = await ChunkStore.open({ dir, devicePath });
    try {
      expect(store.openReport.uncleanShutdown).toBe(true);
      expect(store.openReport.leakedBlocksFreed).toBe(0);
      expect(store.openReport.unmarkedBlocksRepaired).toBe(0);
      store.checkConsistency();
      expect(store.stats().chunks).toBeGreaterThanOrEqual(acked.length);
      for (const seed of acked) {
        const bytes = envelope(seed, lengthFor(seed));
        expect((await store.get(TENANT, idOf(bytes))).equals(bytes), `seed ${seed}`).toBe(true);
      }
    } finally {
      await store.close();
    }
  }, 60_000);
});
