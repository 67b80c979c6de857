/**
 * A real PyKMIP server (Debian `python3-pykmip`) for tests: its own config, certificates
 * (mutual TLS, TLS 1.2 auth suite), SQLite database and log in a temp directory, on a free
 * loopback port. `stop()` kills it (SIGKILL after a grace period) and removes the directory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from './certs.ts';

export const PYKMIP_SERVER = '/usr/bin/pykmip-server';
const START_TIMEOUT_MS = 30_000;

export interface PyKmipServer {
  readonly host: string;
  readonly port: number;
  readonly pki: TestPki;
  readonly dir: string;
  readonly logPath: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

export function pyKmipAvailable(): boolean {
  return existsSync(PYKMIP_SERVER);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export async function startPyKmip(): Promise<PyKmipServer> {
  const dir = mkdtempSync(join(tmpdir(), 'kiseki-pykmip-'));
  const pki = makeTestPki(dir, 'kiseki-node');
  mkdirSync(join(dir, 'policies'));
  const port = await freePort();
  const conf = join(dir, 'server.conf');
  const logPath = join(dir, 'server.log');
  writeFileSync(
    conf,
    [
      '[server]',
      'hostname=127.0.0.1',
      `port=${port}`,
      `certificate_path=${pki.serverCert}`,
      `key_path=${pki.serverKey}`,
      `ca_path=${pki.caCert}`,
      'auth_suite=TLS1.2',
      `policy_path=${join(dir, 'policies')}`,
      'enable_tls_client_auth=True',
      'logging_level=INFO',
      `database_path=${join(dir, 'pykmip.db')}`,
      '',
    ].join('\n'),
  );
  // Its own process group: pykmip-server forks a worker that would outlive a kill of the parent.
  const child = spawn(PYKMIP_SERVER, ['-f', conf, '-l', logPath], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  const killGroup = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      // the group is gone already
    }
  };
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      killGroup('SIGTERM');
      const t = setTimeout(() => killGroup('SIGKILL'), 500);
      await exited;
      clearTimeout(t);
    }
    killGroup('SIGKILL'); // any worker left in the group
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(existsSync(logPath) && readFileSync(logPath, 'utf8').includes('Starting connection service'))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`PyKMIP server did not start within ${START_TIMEOUT_MS} ms:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { host: '127.0.0.1', port, pki, dir, logPath, child, stop };
}
