import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Seq } from '@kiseki/proto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Wal } from './wal.ts';
import { crashPayload } from './wal-crash-payload.ts';

const CHILD = fileURLToPath(new URL('./wal-crash-child.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SEGMENT_BYTES_MAX = 64 * 1024; // small, so kills also land around segment rolls
const ROUNDS = 3;
const CHILD_TIMEOUT_MS = 15_000;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiseki-walcrash-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Round {
  readonly acked: Map<number, number>; // seq → k
  readonly openedLine: string;
}

/** Run the child until it has acknowledged `killAfter` records, then SIGKILL it. */
function runAndKill(startK: number, killAfter: number, extraDelayMs: number): Promise<Round> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', CHILD, dir, String(SEGMENT_BYTES_MAX), String(startK)],
      {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    let killing = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`crash child made no progress in ${CHILD_TIMEOUT_MS} ms: ${err}`));
    }, CHILD_TIMEOUT_MS);
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
    });
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (!killing && out.split('\n').length - 2 >= killAfter) {
        killing = true;
        setTimeout(() => child.kill('SIGKILL'), extraDelayMs);
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') return reject(new Error(`crash child exited ${code}: ${err}`));
      const lines = out.split('\n');
      lines.pop(); // possibly partial: not a complete acknowledgement
      const [openedLine, ...acks] = lines;
      const acked = new Map<number, number>();
      for (const l of acks) {
        const [seq, k] = l.split(' ').map(Number);
        acked.set(seq!, k!);
      }
      resolve({ acked, openedLine: openedLine ?? '' });
    });
  });
}

describe('WAL crash safety', () => {
  it('I-L2: every acknowledged append survives kill -9, with its exact payload, across repeated crashes', async () => {
    const all = new Map<number, number>();
    let startK = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const killAfter = 100 + Math.floor(Math.random() * 900);
      const r = await runAndKill(startK, killAfter, Math.floor(Math.random() * 30));
      expect(r.openedLine).toMatch(/^opened \d+ /);
      expect(r.acked.size).toBeGreaterThanOrEqual(killAfter);
      for (const [seq, k] of r.acked) all.set(seq, k);
      startK += 1_000_000;

      const wal = await Wal.open(dir, { segment_bytes_max: SEGMENT_BYTES_MAX });
      try {
        const maxAcked = Math.max(...r.acked.keys());
        expect(wal.lastSeq).toBeGreaterThanOrEqual(maxAcked);
        const entries = await wal.read(1 as Seq, wal.lastSeq, 1 << 30);
        expect(entries.length).toBe(wal.lastSeq); // dense from 1 (I-L1)
        for (const [seq, k] of all) {
          const e = entries[seq - 1]!;
          expect(e.seq).toBe(seq);
          expect(Buffer.from(e.payload).equals(crashPayload(k)), `seq ${seq}`).toBe(true);
        }
      } finally {
        await wal.close();
      }
    }
  });
});
