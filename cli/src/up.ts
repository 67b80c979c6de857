/**
 * `kiseki up`: a whole single-node Kiseki in the foreground. Starts kiseki-server on the home
 * directory, mounts the default tenant with mount.kiseki, prints `kiseki: ready at <mnt>`, and on
 * Ctrl-C or SIGTERM unmounts and stops the server, in that order.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KisekiError } from '@kiseki/proto';
import { caPath, credentialPath } from './home.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SERVER_BIN = join(ROOT, 'server/bin/kiseki-server');
export const MOUNT_BIN = join(ROOT, 'fuse/bin/mount.kiseki');
export const START_TIMEOUT_MS = 120_000;
export const STOP_TIMEOUT_MS = 30_000;

export interface UpOptions {
  readonly home: string;
  readonly mount: string;
  readonly port: number;
  readonly deviceSizeBytes?: number;
  readonly createMount: boolean;
}

/** Resolves with the first stdout line matching `re`; rejects if the child exits first. */
function waitForLine(
  child: ChildProcess,
  re: RegExp,
  what: string,
  stderr: () => string,
): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(
      () => reject(new KisekiError('KISEKI_E_TIMEOUT', `${what} did not start in time`)),
      START_TIMEOUT_MS,
    );
    const onData = (d: Buffer) => {
      buf += d.toString();
      const m = re.exec(buf);
      if (m) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.off('exit', onExit);
        resolve(m);
      }
    };
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(
        new KisekiError(
          'KISEKI_E_UNAVAILABLE',
          `${what} exited (${code}) before it was ready:\n${stderr().trim()}`,
        ),
      );
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function up(o: UpOptions): Promise<number> {
  const home = resolve(o.home);
  const mnt = resolve(o.mount);
  if (!existsSync(mnt)) {
    if (!o.createMount)
      throw new KisekiError('KISEKI_E_NOENT', `mount point ${mnt} does not exist: create it first`);
    mkdirSync(mnt, { recursive: true });
  }
  // A mount left behind by a killed daemon answers "Transport endpoint is not connected".
  spawnSync('fusermount3', ['-u', '-q', mnt], { stdio: 'ignore' });

  let serverErr = '';
  const server = spawn(
    SERVER_BIN,
    [
      '--home',
      home,
      '--port',
      String(o.port),
      ...(o.deviceSizeBytes ? ['--device-size', String(o.deviceSizeBytes)] : []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  server.stderr?.on('data', (d: Buffer) => {
    serverErr = (serverErr + d.toString()).slice(-20_000);
    process.stderr.write(d);
  });
  const m = await waitForLine(server, /listening grpc=(\d+)/, 'kiseki-server', () => serverErr);
  const address = `127.0.0.1:${m[1]}`;

  let mountErr = '';
  const mounter = spawn(
    MOUNT_BIN,
    [
      address,
      mnt,
      '--tenant',
      'default',
      '--ca',
      caPath(home),
      '--credential-file',
      credentialPath(home, 'default'),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  mounter.stderr?.on('data', (d: Buffer) => {
    mountErr = (mountErr + d.toString()).slice(-20_000);
    process.stderr.write(d);
  });
  try {
    await waitForLine(mounter, /mounted/, 'mount.kiseki', () => mountErr);
  } catch (err) {
    await stopChild(server);
    throw err;
  }
  process.stdout.write(`kiseki: ready at ${mnt}\n`);

  return new Promise((resolveExit) => {
    let stopping = false;
    const stop = async (code: number, why?: string) => {
      if (stopping) return;
      stopping = true;
      if (why) process.stderr.write(`kiseki: ${why}\n`);
      await stopChild(mounter);
      spawnSync('fusermount3', ['-u', '-q', mnt], { stdio: 'ignore' });
      await stopChild(server);
      process.stdout.write('kiseki: stopped\n');
      resolveExit(code);
    };
    process.on('SIGINT', () => void stop(0));
    process.on('SIGTERM', () => void stop(0));
    server.once('exit', (c) => void stop(1, `kiseki-server exited unexpectedly (${c}); unmounting`));
    mounter.once('exit', (c) => void stop(1, `mount.kiseki exited unexpectedly (${c}); stopping`));
  });
}
