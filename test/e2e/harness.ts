/**
 * End-to-end harness: real kiseki-server processes on 127.0.0.1, real FUSE mounts through
 * mount.kiseki, real SDK clients, a recording TCP proxy. Everything it starts it also stops;
 * every wait is bounded.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ConnectOptions, connect, type Kiseki } from '@kiseki/client';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SERVER_BIN = join(ROOT, 'server/bin/kiseki-server');
export const MOUNT_BIN = join(ROOT, 'fuse/bin/mount.kiseki');
export const CLI_BIN = join(ROOT, 'cli/bin/kiseki');
const START_TIMEOUT_MS = 60_000;

export function tempDir(prefix: string): string {
  mkdirSync(join(tmpdir(), 'kiseki-e2e'), { recursive: true });
  return mkdtempSync(join(tmpdir(), 'kiseki-e2e', `${prefix}-`));
}

/** A free TCP port pair (p, p+1) on loopback. */
export async function freePortPair(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = 20_000 + Math.floor(Math.random() * 30_000);
    if ((await portFree(p)) && (await portFree(p + 1))) return p;
  }
  throw new Error('no free port pair found');
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** Resolves with the first match of `re` on the child's stdout; rejects on exit or timeout. */
export function waitForOutput(
  child: ChildProcess,
  re: RegExp,
  what: string,
  timeoutMs = START_TIMEOUT_MS,
): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(
      () => done(new Error(`${what}: no '${re}' within ${timeoutMs} ms\n${err}`)),
      timeoutMs,
    );
    const onOut = (d: Buffer) => {
      out += d.toString();
      const m = re.exec(out);
      if (m) done(undefined, m);
    };
    const onErr = (d: Buffer) => {
      err = (err + d.toString()).slice(-10_000);
    };
    const onExit = (code: number | null) => done(new Error(`${what} exited (${code}) before ready:\n${err}`));
    function done(e?: Error, m?: RegExpMatchArray) {
      clearTimeout(timer);
      child.stdout?.off('data', onOut);
      child.stderr?.off('data', onErr);
      child.off('exit', onExit);
      if (e) reject(e);
      else resolve(m!);
    }
    child.stdout?.on('data', onOut);
    child.stderr?.on('data', onErr);
    child.once('exit', onExit);
  });
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.once('exit', (c) => r(c)));
}

export interface ServerHandle {
  readonly home: string;
  readonly port: number;
  readonly chunkPort: number;
  readonly address: string;
  proc: ChildProcess;
  /** Everything the server wrote to stderr (its log). */
  log(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface ServerOptions {
  readonly home?: string;
  readonly port?: number;
  readonly deviceSizeBytes?: number;
  readonly extraArgs?: readonly string[];
}

export async function startServer(opts: ServerOptions = {}): Promise<ServerHandle> {
  const home = opts.home ?? tempDir('home');
  const port = opts.port ?? (await freePortPair());
  let log = '';
  const spawnOne = async () => {
    const proc = spawn(
      SERVER_BIN,
      [
        '--home',
        home,
        '--port',
        String(port),
        '--log-level',
        'info',
        '--device-size',
        String(opts.deviceSizeBytes ?? 2 * 1024 ** 3),
        ...(opts.extraArgs ?? []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    proc.stderr?.on('data', (d: Buffer) => {
      log = (log + d.toString()).slice(-1_000_000);
    });
    await waitForOutput(proc, /listening grpc=(\d+) chunks=(\d+)/, 'kiseki-server');
    return proc;
  };
  const h: ServerHandle = {
    home,
    port,
    chunkPort: port + 1,
    address: `127.0.0.1:${port}`,
    proc: await spawnOne(),
    log: () => log,
    async kill(signal = 'SIGKILL') {
      h.proc.kill(signal);
      await exited(h.proc);
    },
    async restart() {
      h.proc = await spawnOne();
    },
    async stop() {
      if (h.proc.exitCode === null && h.proc.signalCode === null) {
        h.proc.kill('SIGTERM');
        const t = setTimeout(() => h.proc.kill('SIGKILL'), 15_000);
        await exited(h.proc);
        clearTimeout(t);
      }
    },
  };
  return h;
}

export function credentialFile(home: string, tenant = 'default'): string {
  return join(home, 'tenants', `${tenant}.credential`);
}

export function caFile(home: string): string {
  return join(home, 'tls', 'ca.crt');
}

export async function sdk(
  s: { home: string; address: string },
  tenant = 'default',
  extra: { chunkUrl?: string; server?: string; l2?: ConnectOptions['l2'] } = {},
): Promise<Kiseki> {
  return connect({
    server: extra.server ?? s.address,
    ca: caFile(s.home),
    tenant,
    credentialFile: credentialFile(s.home, tenant),
    chunkUrl: extra.chunkUrl,
    l2: extra.l2,
    connectTimeoutMs: 10_000,
  });
}

export interface MountHandle {
  readonly mountpoint: string;
  proc: ChildProcess;
  log(): string;
  unmount(): Promise<void>;
}

export async function mountFs(
  s: { home: string; address: string },
  opts: {
    mountpoint?: string;
    tenant?: string;
    server?: string;
    chunkUrl?: string;
    attrTimeoutS?: number;
  } = {},
): Promise<MountHandle> {
  const mountpoint = opts.mountpoint ?? tempDir('mnt');
  const tenant = opts.tenant ?? 'default';
  const proc = spawn(
    MOUNT_BIN,
    [
      opts.server ?? s.address,
      mountpoint,
      '--tenant',
      tenant,
      '--ca',
      caFile(s.home),
      '--credential-file',
      credentialFile(s.home, tenant),
      ...(opts.chunkUrl ? ['--chunk-url', opts.chunkUrl] : []),
      ...(opts.attrTimeoutS !== undefined ? ['--attr-timeout', String(opts.attrTimeoutS)] : []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  proc.stderr?.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-200_000);
  });
  await waitForOutput(proc, /mounted/, 'mount.kiseki');
  return {
    mountpoint,
    proc,
    log: () => log,
    async unmount() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 20_000);
        await exited(proc);
        clearTimeout(t);
      }
      spawnSync('fusermount3', ['-u', '-q', mountpoint], { stdio: 'ignore' });
    },
  };
}

/** A TCP proxy on loopback that records every byte in both directions. */
export interface RecordingProxy {
  readonly port: number;
  captured(): Buffer;
  close(): Promise<void>;
}

export async function recordingProxy(targetPort: number): Promise<RecordingProxy> {
  const chunks: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = netConnect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    client.on('data', (d: Buffer) => {
      chunks.push(Buffer.from(d));
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      chunks.push(Buffer.from(d));
      client.write(d);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    captured: () => Buffer.concat(chunks),
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** `diff -r` of two trees (no dereferencing of symlinks); '' when identical. */
export function diffTrees(a: string, b: string): string {
  const r = spawnSync('diff', ['-r', '--no-dereference', a, b], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return r.status === 0 ? '' : `${r.stdout}${r.stderr}`.slice(0, 4000) || `diff exited ${r.status}`;
}

/** Runs a tool to completion (bounded: killed after `timeoutMs`) and returns its stdout; throws
 * with its stderr when it fails. */
export function sh(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): string {
  return execFileSync(cmd, args, {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    cwd: opts.cwd,
    env: opts.env,
    timeout: opts.timeoutMs ?? 300_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Every regular file below `dir` (symlinks are not followed). */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

export function cleanup(path: string): void {
  spawnSync('fusermount3', ['-u', '-q', path], { stdio: 'ignore' });
  rmSync(path, { recursive: true, force: true });
}
