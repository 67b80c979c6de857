/**
 * A real crash: a child process puts chunks and prints each acknowledged one; we SIGKILL its
 * whole process group mid-stream, reopen the store from disk and read every acknowledged chunk.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
    // detached: the child leads its own process group, so one kill reaches npx, tsx and node.
    const child = spawn('npx', ['tsx', CHILD, dir, devicePath], {
      cwd: fileURLToPath(new URL('../../..', import.meta.url)),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
      child.once('exit', (code, signal) => resolve(signal ?? code)),
    );
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
      void exited.then(() => reject(new Error(`child exited early: ${stderr.slice(0, 2000)}`)));
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

async function groupGone(pgid: number): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return; // ESRCH: no process left in the group
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`process group ${pgid} did not exit`);
}
