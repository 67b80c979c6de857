import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export interface GroupChild {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  /** Everything the child wrote to stderr so far. */
  stderr(): string;
  /** The child's exit signal or code. */
  readonly exited: Promise<NodeJS.Signals | number | null>;
}

/**
 * Runs a TypeScript child (through npx tsx) as the leader of its own process group, so one
 * kill of the group reaches npx, tsx and node alike.
 */
export function spawnGroupChild(script: string, args: readonly string[]): GroupChild {
  const child = spawn('npx', ['tsx', script, ...args], {
    cwd: fileURLToPath(new URL('../../../..', import.meta.url)),
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
  return { child, stderr: () => stderr, exited };
}

/** Resolves once no process of group `pgid` is left (after a SIGKILL, npx exits before its node grandchild). */
export async function groupGone(pgid: number): Promise<void> {
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
