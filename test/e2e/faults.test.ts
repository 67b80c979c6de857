/**
 * Bad input and faults, end to end: a wrong mount point, no server, a damaged WAL tail, a full
 * device, hostile requests on the wire. Each must end in a clear error, and nothing that was
 * acknowledged before may be lost.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import * as fsp from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { connect, type Kiseki, Rpc } from '@kiseki/client';
import { CHUNK_ENVELOPE_BYTES_MAX } from '@kiseki/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLI_BIN,
  caFile,
  cleanup,
  credentialFile,
  freePortPair,
  MOUNT_BIN,
  type MountHandle,
  mountFs,
  ROOT,
  type ServerHandle,
  sdk,
  sh,
  startServer,
  tempDir,
} from './harness.ts';
import { isMounted, runBounded } from './lib/mounts.ts';
import { Rng } from './lib/prng.ts';

const MiB = 1024 * 1024;
/** mount.kiseki and the SDK must give up on a dead server within this. */
const GIVE_UP_MS_MAX = 30_000;

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Files of awkward sizes around the 1 MiB block, written through a mount. */
function sampleFiles(seed: number): Map<string, Buffer> {
  const rng = new Rng(seed);
  return new Map([
    ['/empty', Buffer.alloc(0)],
    ['/small.txt', rng.bytes(1000)],
    ['/one-block', rng.bytes(MiB)],
    ['/one-block-plus-one', rng.bytes(MiB + 1)],
    ['/dir/two-and-a-half-blocks', rng.bytes(2.5 * MiB)],
  ]);
}

async function writeThroughMount(mnt: MountHandle, files: Map<string, Buffer>): Promise<void> {
  for (const [p, body] of files) {
    const dir = join(mnt.mountpoint, p, '..');
    await fsp.mkdir(dir, { recursive: true });
    await fsp.writeFile(join(mnt.mountpoint, p), body);
  }
}

/** Paths whose bytes differ from `files`, read by a fresh mount and by a fresh SDK session. */
async function damagedFiles(server: ServerHandle, files: Map<string, Buffer>): Promise<string[]> {
  const bad: string[] = [];
  const m = await mountFs(server);
  try {
    for (const [p, body] of files) {
      const got = await fsp.readFile(join(m.mountpoint, p)).catch((e: NodeJS.ErrnoException) => e.code);
      if (!Buffer.isBuffer(got) || !got.equals(body)) bad.push(`${p} via the mount: ${describeRead(got)}`);
    }
  } finally {
    await m.unmount();
    cleanup(m.mountpoint);
  }
  const k = await sdk(server);
  try {
    for (const [p, body] of files) {
      const got = await k.fs.readFile(p).catch((e: { code?: string }) => e.code ?? 'error');
      if (!Buffer.isBuffer(got) || !got.equals(body)) bad.push(`${p} via the SDK: ${describeRead(got)}`);
    }
  } finally {
    await k.close();
  }
  return bad;
}

function describeRead(got: Buffer | string | undefined): string {
  return Buffer.isBuffer(got) ? `${got.length} bytes, different content` : `failed with ${got}`;
}

/** The last WAL segment of the default tenant's shard (the node's only shard here). */
function lastWalSegment(home: string): string {
  const shards = readdirSync(join(home, 'log')).filter((d) => statSync(join(home, 'log', d)).isDirectory());
  expect(shards).toHaveLength(1);
  const dir = join(home, 'log', shards[0]!);
  const segments = readdirSync(dir)
    .filter((n) => n.endsWith('.wal'))
    .sort();
  expect(segments.length).toBeGreaterThan(0);
  return join(dir, segments.at(-1)!);
}

function count(haystack: string, re: RegExp): number {
  return [...haystack.matchAll(new RegExp(re.source, 'g'))].length;
}

describe('a bad mount point or no server', () => {
  let server: ServerHandle;
  let scratch: string;

  beforeAll(async () => {
    server = await startServer({ deviceSizeBytes: 64 * MiB });
    scratch = tempDir('faults-scratch');
  });
  afterAll(async () => {
    await server?.stop();
    if (scratch) cleanup(scratch);
    if (server) cleanup(server.home);
  });

  const mountArgs = (address: string, mountpoint: string) => [
    address,
    mountpoint,
    '--tenant',
    'default',
    '--ca',
    caFile(server.home),
    '--credential-file',
    credentialFile(server.home),
  ];

  it('mount.kiseki on a missing mount point exits non-zero with a message naming the path, and creates or mounts nothing', async () => {
    const missing = join(scratch, 'no', 'such', 'dir');
    const r = await runBounded(MOUNT_BIN, mountArgs(server.address, missing), GIVE_UP_MS_MAX);
    expect(r.signal).toBeNull();
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(missing);
    expect(r.stderr).toMatch(/does not exist/);
    expect(r.stdout).not.toMatch(/mounted/);
    expect(existsSync(missing)).toBe(false);
    expect(await isMounted(missing)).toBe(false);
    // The harness reports the same failure instead of hanging, and leaves nothing mounted.
    await expect(mountFs(server, { mountpoint: missing })).rejects.toThrow(/does not exist/);
    expect(await isMounted(missing)).toBe(false);
  });

  it('mount.kiseki on a regular file exits non-zero saying it is not a directory', async () => {
    const file = join(scratch, 'a-file');
    writeFileSync(file, 'not a directory\n');
    const r = await runBounded(MOUNT_BIN, mountArgs(server.address, file), GIVE_UP_MS_MAX);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toMatch(/not a directory/);
    expect(await isMounted(file)).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe('not a directory\n');
  });

  it('mount.kiseki against a server that is not running gives up in bounded time, says to check the server is running (KISEKI_E_UNAVAILABLE), and mounts nothing', async () => {
    const port = await freePortPair(); // nothing listens there
    const mp = join(scratch, 'mnt-no-server');
    mkdirSync(mp);
    const r = await runBounded(MOUNT_BIN, mountArgs(`127.0.0.1:${port}`, mp), GIVE_UP_MS_MAX + 5_000);
    expect(r.signal).toBeNull(); // it gave up by itself, not killed by the bound
    expect(r.code).not.toBe(0);
    expect(r.elapsedMs).toBeLessThan(GIVE_UP_MS_MAX);
    expect(r.stderr).toContain(`127.0.0.1:${port}`);
    expect(r.stderr).toMatch(/is it running/);
    expect(await isMounted(mp)).toBe(false);
    // The stable code is the one thing scripts and searches can rely on; kiseki-server prints
    // its codes, mount.kiseki should too.
    expect(r.stderr).toContain('KISEKI_E_UNAVAILABLE');
  });

  it('a tenant whose keys cannot be made is not left half-made: create fails, and the name stays free for a retry', () => {
    // A file where the tenant's key directory goes makes the key manager fail after the tenant
    // record was written.
    const blocker = join(server.home, 'keys', 'tenants', 'blocked');
    mkdirSync(dirname(blocker), { recursive: true });
    writeFileSync(blocker, 'not a directory');
    const cli = (...args: string[]) =>
      spawnSync(CLI_BIN, ['--home', server.home, ...args], { encoding: 'utf8', timeout: 60_000 });
    const failed = cli('tenant', 'create', 'blocked');
    expect(failed.status).not.toBe(0);
    expect(failed.stderr).toMatch(/kiseki: /);
    expect(cli('tenant', 'list').stdout).not.toMatch(/^blocked\b/m);
    rmSync(blocker);
    const ok = cli('tenant', 'create', 'blocked');
    expect(ok.status, ok.stderr).toBe(0);
    expect(cli('tenant', 'list').stdout).toMatch(/^blocked\b/m);
  });

  it('SDK connect to a server that is not running rejects with KISEKI_E_UNAVAILABLE within its connect timeout, saying to check the server is running', async () => {
    const port = await freePortPair();
    const started = Date.now();
    const err = await connect({
      server: `127.0.0.1:${port}`,
      ca: caFile(server.home),
      tenant: 'default',
      credentialFile: credentialFile(server.home),
      connectTimeoutMs: 3000,
    }).then(
      async (k) => {
        await k.close();
        return undefined;
      },
      (e: unknown) => e as { code?: string; message: string },
    );
    const elapsedMs = Date.now() - started;
    expect(err?.code).toBe('KISEKI_E_UNAVAILABLE');
    expect(err?.message).toMatch(/is it running/);
    expect(err?.message).toContain(`127.0.0.1:${port}`);
    expect(elapsedMs).toBeLessThan(3000 + 5000);
  });
});

// POSIX: an unlinked or replaced file lives on through its open handles. With libfuse2's
// high-level API it was renamed to .fuse_hidden* instead; the low-level binding sees inodes.
describe('files unlinked or replaced while open (POSIX)', () => {
  let server: ServerHandle;
  let mnt: MountHandle;

  beforeAll(async () => {
    server = await startServer({ deviceSizeBytes: 64 * MiB });
    mnt = await mountFs(server);
  });
  afterAll(async () => {
    await mnt?.unmount();
    await server?.stop();
    if (mnt) cleanup(mnt.mountpoint);
    if (server) cleanup(server.home);
  });

  it('an open file that is unlinked leaves its directory at once (no .fuse_hidden entry), stays readable through its handle, and the directory can be removed', async () => {
    const dir = join(mnt.mountpoint, 'unlink-while-open');
    await fsp.mkdir(dir);
    await fsp.writeFile(join(dir, 'log.txt'), 'still readable\n');
    const fh = await fsp.open(join(dir, 'log.txt'), 'r');
    try {
      await fsp.unlink(join(dir, 'log.txt'));
      expect(await fsp.readdir(dir)).toEqual([]);
      const buf = Buffer.alloc(64);
      const { bytesRead } = await fh.read(buf, 0, 64, 0);
      expect(buf.subarray(0, bytesRead).toString()).toBe('still readable\n');
      await fsp.rmdir(dir); // rm -rf of a directory with an open log file
    } finally {
      await fh.close();
    }
    expect(existsSync(dir)).toBe(false);
  });

  it('renaming over an open file replaces it at once (no .fuse_hidden entry) while the old handle reads the old bytes', async () => {
    const dir = join(mnt.mountpoint, 'rename-over-open');
    await fsp.mkdir(dir);
    await fsp.writeFile(join(dir, 'config'), 'old');
    await fsp.writeFile(join(dir, 'config.new'), 'new');
    const fh = await fsp.open(join(dir, 'config'), 'r');
    try {
      await fsp.rename(join(dir, 'config.new'), join(dir, 'config'));
      expect(await fsp.readdir(dir)).toEqual(['config']);
      expect(await fsp.readFile(join(dir, 'config'), 'utf8')).toBe('new');
      const buf = Buffer.alloc(16);
      const { bytesRead } = await fh.read(buf, 0, 16, 0);
      expect(buf.subarray(0, bytesRead).toString()).toBe('old');
    } finally {
      await fh.close();
    }
  });
});

describe('I-L2: garbage after the last WAL record', () => {
  let server: ServerHandle;
  const files = sampleFiles(101);
  const garbage = Buffer.from('garbage after the last record; '.repeat(200)).subarray(0, 4096);

  beforeAll(async () => {
    server = await startServer({ deviceSizeBytes: 128 * MiB });
    const m = await mountFs(server);
    try {
      await writeThroughMount(m, files);
    } finally {
      await m.unmount();
      cleanup(m.mountpoint);
    }
    await server.stop();
  });
  afterAll(async () => {
    await server?.stop();
    if (server) cleanup(server.home);
  });

  it('I-L2: the server starts, reports the recovery in its log, and every acknowledged file is intact', async () => {
    appendFileSync(lastWalSegment(server.home), garbage);
    await server.restart();
    expect(server.log()).toMatch(/recovered WAL: dropped 4096 bytes of torn tail after seq \d+/);
    expect(await damagedFiles(server, files)).toEqual([]);
  });

  it('I-L2: after the recovery new writes go on the log and survive the next restart, which finds a clean log', async () => {
    const more = new Map([['/after-recovery', new Rng(102).bytes(MiB + 17)]]);
    const m = await mountFs(server);
    try {
      await writeThroughMount(m, more);
    } finally {
      await m.unmount();
      cleanup(m.mountpoint);
    }
    await server.stop();
    await server.restart();
    expect(count(server.log(), /recovered WAL/)).toBe(1);
    expect(await damagedFiles(server, new Map([...files, ...more]))).toEqual([]);
  });
});

describe('I-L2: a torn last record (an append cut short before it was acknowledged)', () => {
  let server: ServerHandle;
  let snapshot: string;
  const files = sampleFiles(201);

  beforeAll(async () => {
    server = await startServer({ deviceSizeBytes: 128 * MiB });
    snapshot = tempDir('wal-snapshot');
    const m = await mountFs(server);
    try {
      await writeThroughMount(m, files);
    } finally {
      await m.unmount();
      cleanup(m.mountpoint);
    }
    await server.stop();
  });
  afterAll(async () => {
    await server?.stop();
    if (server) cleanup(server.home);
    if (snapshot) cleanup(snapshot);
  });

  it('I-L2: the server cuts the torn record, reports it, and every acknowledged file is intact; the torn operation is absent', async () => {
    // The on-disk state of a crash in the middle of one append: the log and view as they were
    // before it, plus the first half of the record it was writing (format-agnostic: the bytes
    // are those the server itself appended for that operation).
    const segment = lastWalSegment(server.home);
    const before = readFileSync(segment);
    cpSync(join(server.home, 'log'), join(snapshot, 'log'), { recursive: true });
    cpSync(join(server.home, 'view'), join(snapshot, 'view'), { recursive: true });
    await server.restart();
    const k = await sdk(server);
    try {
      await k.fs.mkdir('/made-by-the-torn-append'); // one delta, one record
    } finally {
      await k.close();
    }
    await server.stop();
    expect(lastWalSegment(server.home)).toBe(segment);
    const record = readFileSync(segment).subarray(before.length);
    expect(record.length).toBeGreaterThan(28); // more than a record header (wal-record.ts)
    for (const d of ['log', 'view']) {
      rmSync(join(server.home, d), { recursive: true, force: true });
      cpSync(join(snapshot, d), join(server.home, d), { recursive: true });
    }
    const torn = Math.floor(record.length / 2);
    appendFileSync(segment, record.subarray(0, torn));

    await server.restart();
    expect(server.log()).toMatch(
      new RegExp(`recovered WAL: dropped ${torn} bytes of torn tail after seq \\d+`),
    );
    expect(await damagedFiles(server, files)).toEqual([]);
    const k2 = await sdk(server);
    try {
      await expect(k2.fs.stat('/made-by-the-torn-append')).rejects.toMatchObject({ code: 'KISEKI_E_NOENT' });
    } finally {
      await k2.close();
    }
  });
});

describe('I-L2, I-V1: the last bytes of an acknowledged WAL record are lost', () => {
  let server: ServerHandle;
  let refusal = '';
  let refusalMs = 0;
  const files = sampleFiles(301);

  beforeAll(async () => {
    server = await startServer({ deviceSizeBytes: 128 * MiB });
    const m = await mountFs(server);
    try {
      await writeThroughMount(m, files);
      await fsp.mkdir(join(m.mountpoint, 'last-acknowledged-op')); // the record that gets cut
    } finally {
      await m.unmount();
      cleanup(m.mountpoint);
    }
    await server.stop();
    const segment = lastWalSegment(server.home);
    truncateSync(segment, statSync(segment).size - 5);
    const started = Date.now();
    refusal = await server.restart().then(
      () => '',
      (err: Error) => err.message,
    );
    refusalMs = Date.now() - started;
  });
  afterAll(async () => {
    await server?.stop();
    if (server) cleanup(server.home);
  });

  it('I-L2: the server refuses to start (KISEKI_E_CORRUPT naming the shard) instead of serving a view that is ahead of its log', () => {
    expect(refusal).not.toBe('');
    expect(refusalMs).toBeLessThan(GIVE_UP_MS_MAX);
    expect(refusal).toMatch(/KISEKI_E_CORRUPT/);
    expect(refusal).toMatch(/default\.0/);
    expect(refusal).toMatch(/lost committed deltas/);
  });

  it('the refusal tells the operator what to do (repair, rebuild the view, or restore)', () => {
    // What happened is clear; what to do is not said, and the `--repair` of ADR 0002 does not
    // exist on kiseki-server.
    const lastLine = refusal.trim().split('\n').at(-1) ?? '';
    expect(lastLine).toMatch(/--repair|rebuild|restore|backup|remove .*view/i);
  });

  it('I-V1: rebuilding the view from the damaged log brings the server up; every earlier acknowledged file is intact and only the cut operation is lost', async () => {
    rmSync(join(server.home, 'view'), { recursive: true, force: true });
    await server.restart();
    expect(server.log()).toMatch(/view caught up from the log/);
    expect(await damagedFiles(server, files)).toEqual([]);
    const k = await sdk(server);
    try {
      await expect(k.fs.stat('/last-acknowledged-op')).rejects.toMatchObject({ code: 'KISEKI_E_NOENT' });
    } finally {
      await k.close();
    }
  });
});

describe('I-C5: a full device', () => {
  /** Small device; chunk GC grace short enough that freed space returns within the test. */
  const DEVICE_BYTES = 64 * MiB;
  const GC_GRACE_MS = 2000;
  const FILL_FILE_BYTES = 8 * MiB;
  const FILL_FILES_MAX = 16; // 128 MiB: twice the device, so the loop must hit the limit
  const REUSE_WAIT_MS_MAX = 30_000;

  let server: ServerHandle;
  let mnt: MountHandle;
  const known = sampleFiles(401);
  /** Path → sha256 of every file whose close succeeded. */
  const acked = new Map<string, string>();
  let failure: { path: string; stage: string; code: string } | undefined;

  beforeAll(async () => {
    const home = tempDir('home-full');
    writeFileSync(join(home, 'config.json'), `${JSON.stringify({ gcGraceMs: GC_GRACE_MS })}\n`);
    server = await startServer({ home, deviceSizeBytes: DEVICE_BYTES });
    mnt = await mountFs(server);
  });
  afterAll(async () => {
    await mnt?.unmount();
    await server?.stop();
    if (mnt) cleanup(mnt.mountpoint);
    if (server) cleanup(server.home);
  });

  /** Every acknowledged file, re-read through the mount and through a fresh SDK session. */
  async function ackedFilesThatChanged(): Promise<string[]> {
    const bad: string[] = [];
    const k = await sdk(server);
    try {
      for (const [p, digest] of acked) {
        const viaMount = await fsp.readFile(join(mnt.mountpoint, p));
        if (sha(viaMount) !== digest) bad.push(`${p} via the mount`);
        if (sha(await k.fs.readFile(p)) !== digest) bad.push(`${p} via the SDK`);
      }
    } finally {
      await k.close();
    }
    return bad;
  }

  it('I-C5: filling the device fails a write or a close with ENOSPC, not EIO, and every file acknowledged before reads back byte-identical', async () => {
    await writeThroughMount(mnt, known);
    for (const [p, body] of known) acked.set(p, sha(body));
    const rng = new Rng(402);
    for (let i = 0; i < FILL_FILES_MAX && !failure; i++) {
      const path = `/fill-${i}`;
      const body = rng.bytes(FILL_FILE_BYTES);
      let stage = 'open';
      try {
        const fh = await fsp.open(join(mnt.mountpoint, path), 'w');
        stage = 'write';
        const wrote = await fh.write(body, 0, body.length, 0).then(
          () => undefined,
          (err: unknown) => err,
        );
        if (wrote === undefined) stage = 'close';
        await fh.close().catch((err: unknown) => {
          if (wrote === undefined) throw err;
        });
        if (wrote !== undefined) throw wrote;
        acked.set(path, sha(body));
      } catch (err) {
        failure = { path, stage, code: (err as NodeJS.ErrnoException).code ?? String(err) };
      }
    }
    expect(failure, `${FILL_FILES_MAX} files of 8 MiB fit on a 64 MiB device`).toBeDefined();
    expect(failure!.code).toBe('ENOSPC');
    expect(await ackedFilesThatChanged()).toEqual([]);
  });

  it('I-C5: the file whose close failed shows through the mount what the server holds, not bytes that were never stored', async () => {
    expect(failure).toBeDefined();
    const k = await sdk(server);
    try {
      const onServer = await k.fs.stat(failure!.path);
      const viaMount = await fsp.stat(join(mnt.mountpoint, failure!.path));
      expect({ path: failure!.path, size: viaMount.size }).toEqual({
        path: failure!.path,
        size: onServer.size,
      });
    } finally {
      await k.close();
    }
  });

  it('I-C2: deleting files frees their space: within the GC grace period new writes succeed again, and nothing acknowledged changed', async () => {
    expect(failure).toBeDefined();
    await fsp.unlink(join(mnt.mountpoint, failure!.path));
    for (const p of ['/fill-0', '/fill-1']) {
      await fsp.unlink(join(mnt.mountpoint, p));
      acked.delete(p);
    }
    const body = new Rng(403).bytes(4 * MiB);
    const started = Date.now();
    let last = '';
    let wrote = false;
    while (!wrote && Date.now() - started < REUSE_WAIT_MS_MAX) {
      try {
        await fsp.writeFile(join(mnt.mountpoint, 'after-delete'), body);
        wrote = true;
      } catch (err) {
        last = (err as NodeJS.ErrnoException).code ?? String(err);
        expect(last).toBe('ENOSPC');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    expect(
      wrote,
      `no write succeeded within ${REUSE_WAIT_MS_MAX} ms of deleting 24 MiB (last: ${last})`,
    ).toBe(true);
    console.log(`space reusable ${Date.now() - started} ms after the delete (gcGraceMs ${GC_GRACE_MS})`);
    acked.set('/after-delete', sha(body));
    expect(server.log()).toMatch(/chunk GC freed unreferenced chunks/);
    expect(await ackedFilesThatChanged()).toEqual([]);
  });

  it('after the ENOSPC episode (failed file deleted, space freed) mount.kiseki unmounts cleanly', async () => {
    await mnt.unmount();
    expect(mnt.log()).not.toMatch(/unmount failed/);
    expect(mnt.proc.exitCode).toBe(0);
    expect(await isMounted(mnt.mountpoint)).toBe(false);
  });
});

/** Minimal raw gRPC access, to send what the SDK never would. */
interface RawGrpc {
  Metadata: new () => { set(key: string, value: string): void };
}
interface RawError {
  code: number;
  details: string;
  metadata?: { get(key: string): unknown[] };
}
const grpc = createRequire(join(ROOT, 'client', 'package.json'))('@grpc/grpc-js') as RawGrpc;
const UNAUTHENTICATED = 16;
const NOT_FOUND = 5;

/** One unary call with exactly the `authorization` header given (none when undefined). */
function rawCall(
  client: unknown,
  method: string,
  req: object,
  authorization?: string,
): Promise<RawError | 'ok'> {
  const md = new grpc.Metadata();
  if (authorization !== undefined) md.set('authorization', authorization);
  const fn = (client as Record<string, (...a: unknown[]) => void>)[method]!;
  return new Promise((resolve) => {
    fn.call(client, req, md, { deadline: Date.now() + 10_000 }, (err: RawError | null) =>
      resolve(err ?? 'ok'),
    );
  });
}

interface HttpReply {
  status: number;
  code?: string;
}

/** One request to the chunk port; `body` may be streamed in pieces without a content-length. */
function chunkRequest(
  port: number,
  method: string,
  path: string,
  opts: { token?: string; body?: Buffer; pieces?: { size: number; count: number }; headers?: object } = {},
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    let replied = false;
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: {
          ...(opts.token !== undefined ? { authorization: `Bearer ${opts.token}` } : {}),
          ...(opts.body ? { 'content-length': String(opts.body.length) } : {}),
          ...opts.headers,
        },
      },
      (res) => {
        replied = true;
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => {
          let code = res.headers['x-kiseki-error'] as string | undefined;
          try {
            code = (JSON.parse(Buffer.concat(parts).toString()) as { code?: string }).code ?? code;
          } catch {
            /* not JSON (a chunk's bytes, or HEAD) */
          }
          resolve({ status: res.statusCode ?? 0, code });
        });
      },
    );
    // After an early reply the server may close while we still send: that is its right.
    req.on('error', (err) => {
      if (!replied) reject(err);
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: no reply in 30 s`)));
    if (opts.pieces) {
      const piece = Buffer.alloc(opts.pieces.size, 0x5a);
      let sent = 0;
      const more = () => {
        while (sent < opts.pieces!.count && !replied) {
          sent++;
          if (!req.write(piece)) return void req.once('drain', more);
        }
        req.end();
      };
      more();
    } else req.end(opts.body);
  });
}

describe('hostile input on the wire', () => {
  let server: ServerHandle;
  let mine: Kiseki | undefined;
  let theirs: Kiseki | undefined;
  const theirSecret = new Rng(501).bytes(300_000);
  const mySecret = new Rng(502).bytes(200_000);

  beforeAll(async () => {
    server = await startServer({ deviceSizeBytes: 64 * MiB });
  });
  afterAll(async () => {
    await mine?.close().catch(() => {});
    await theirs?.close().catch(() => {});
    await server?.stop();
    if (server) cleanup(server.home);
  });

  it('I-T1: a tenant created with `kiseki tenant create` on a running server can open a session at once', async () => {
    const out = sh(CLI_BIN, ['--home', server.home, 'tenant', 'create', 'other']);
    expect(out).toMatch(/tenant other created/);
    expect(existsSync(credentialFile(server.home, 'other'))).toBe(true);
    const k = await sdk(server, 'other');
    await k.close();
  });

  describe('with two tenants', () => {
    /** The chunk ids of `path` in `k`'s namespace, as the view lists them. */
    async function chunkIds(k: Kiseki, path: string): Promise<string[]> {
      const st = await k.fs.stat(path);
      const r = await k.client.rpc.call<object, { blocks: Array<{ chunkId: Buffer }> }>(
        k.client.rpc.clients.view,
        'GetBlocks',
        { ino: st.ino, fromIndex: 0, toIndex: 1000, read: { pin: 0, minSeq: 0 } },
      );
      return r.blocks.map((b) => b.chunkId.toString('hex'));
    }
    let theirChunk = '';
    let theirEnvelope: Buffer;
    const absentChunk = 'ab'.repeat(32);

    beforeAll(async () => {
      // Tenants' keys are made when the server starts; a restart makes these tests independent
      // of the tenant-creation test above.
      await server.stop();
      await server.restart();
      mine = await sdk(server, 'default');
      theirs = await sdk(server, 'other');
      await mine.fs.writeFile('/mine', mySecret);
      await theirs.fs.writeFile('/theirs', theirSecret);
      theirChunk = (await chunkIds(theirs, '/theirs'))[0]!;
      const res = await fetch(`http://127.0.0.1:${server.chunkPort}/v1/chunks/other/${theirChunk}`, {
        headers: { authorization: `Bearer ${theirs.client.rpc.token}` },
      });
      expect(res.status).toBe(200);
      theirEnvelope = Buffer.from(await res.arrayBuffer());
    });

    /** Both tenants still read their own file intact. */
    async function nothingLost(): Promise<void> {
      expect((await mine!.fs.readFile('/mine')).equals(mySecret)).toBe(true);
      expect((await theirs!.fs.readFile('/theirs')).equals(theirSecret)).toBe(true);
      const fresh = await sdk(server, 'other');
      try {
        expect((await fresh.fs.readFile('/theirs')).equals(theirSecret)).toBe(true);
      } finally {
        await fresh.close();
      }
    }

    it('I-T1: raw gRPC calls with no, garbage or forged session tokens get UNAUTHENTICATED and change nothing', async () => {
      const rpc = new Rpc({ server: server.address, caCert: readFileSync(caFile(server.home)) });
      try {
        const forgedBody = Buffer.from(
          JSON.stringify({ t: 'other', e: Date.now() + 3600_000, n: '0000000000000000' }),
        ).toString('base64url');
        const tokens: Array<[string, string | undefined]> = [
          ['no token', undefined],
          ['empty bearer', 'Bearer '],
          ['garbage', 'Bearer garbage'],
          ['garbage without Bearer', 'v1.garbage.garbage'],
          ['forged for tenant other', `Bearer v1.${forgedBody}.${'A'.repeat(43)}`],
          ['truncated real token', `Bearer ${mine!.client.rpc.token.slice(0, -2)}`],
        ];
        const calls: Array<[string, unknown, string, object]> = [
          ['View.GetAttr', rpc.clients.view, 'GetAttr', { ino: 1 }],
          ['View.ReadDir', rpc.clients.view, 'ReadDir', { ino: 1, limit: 10 }],
          ['Key.GetTenantKeys', rpc.clients.key, 'GetTenantKeys', {}],
          ['Chunk.Get', rpc.clients.chunk, 'Get', { chunkId: Buffer.from(theirChunk, 'hex') }],
          [
            'Composition.Mutate',
            rpc.clients.composition,
            'Mutate',
            { remove: { parent: 1, nameToken: Buffer.alloc(32), dir: false } },
          ],
        ];
        const answers: string[] = [];
        for (const [tokenName, auth] of tokens) {
          for (const [callName, client, method, req] of calls) {
            const r = await rawCall(client, method, req, auth);
            const got =
              r === 'ok'
                ? 'OK'
                : `${r.code === UNAUTHENTICATED ? 'UNAUTHENTICATED' : r.code} ${r.metadata?.get('kiseki-code')[0] ?? ''}`.trim();
            answers.push(`${callName} with ${tokenName}: ${got}`);
          }
        }
        expect(answers.filter((a) => !a.endsWith('UNAUTHENTICATED KISEKI_E_AUTH'))).toEqual([]);
      } finally {
        rpc.close();
      }
      await nothingLost();
    });

    it("I-T1: one tenant's session can't read, write, probe or ask for another tenant's chunks over the chunk port: 403, whether the chunk exists or not", async () => {
      const port = server.chunkPort;
      const token = mine!.client.rpc.token;
      const replies = {
        get: await chunkRequest(port, 'GET', `/v1/chunks/other/${theirChunk}`, { token }),
        head: await chunkRequest(port, 'HEAD', `/v1/chunks/other/${theirChunk}`, { token }),
        put: await chunkRequest(port, 'PUT', `/v1/chunks/other/${theirChunk}`, {
          token,
          body: theirEnvelope,
        }),
        has: await chunkRequest(port, 'POST', '/v1/chunks/other/has', {
          token,
          body: Buffer.from(theirChunk + absentChunk, 'hex'),
        }),
        getAbsent: await chunkRequest(port, 'GET', `/v1/chunks/other/${absentChunk}`, { token }),
        putAbsent: await chunkRequest(port, 'PUT', `/v1/chunks/other/${absentChunk}`, {
          token,
          body: theirEnvelope,
        }),
      };
      for (const [what, r] of Object.entries(replies))
        expect({ what, ...r }).toMatchObject({ what, status: 403 });
      for (const r of [replies.get, replies.put, replies.has, replies.getAbsent]) {
        expect(r.code).toBe('KISEKI_E_ACCES');
      }
      // Over gRPC a session names no tenant at all: the same id is simply not in its own store.
      const viaGrpc = await rawCall(
        mine!.client.rpc.clients.chunk,
        'Get',
        { chunkId: Buffer.from(theirChunk, 'hex') },
        `Bearer ${token}`,
      );
      expect(viaGrpc === 'ok' ? 'OK' : viaGrpc.code).toBe(NOT_FOUND);
      await nothingLost();
    });

    it('the chunk port answers requests without a valid session token with 401', async () => {
      const port = server.chunkPort;
      const path = `/v1/chunks/default/${absentChunk}`;
      expect(await chunkRequest(port, 'GET', path)).toMatchObject({ status: 401, code: 'KISEKI_E_AUTH' });
      expect(await chunkRequest(port, 'GET', path, { token: 'garbage' })).toMatchObject({
        status: 401,
        code: 'KISEKI_E_AUTH',
      });
      expect(
        await chunkRequest(port, 'PUT', path, { token: `${mine!.client.rpc.token}x`, body: theirEnvelope }),
      ).toMatchObject({ status: 401, code: 'KISEKI_E_AUTH' });
    });

    it('oversized chunk PUTs are refused with 413, by content-length and while streaming, and nothing is stored', async () => {
      const port = server.chunkPort;
      const token = mine!.client.rpc.token;
      const ids = ['cd'.repeat(32), 'ce'.repeat(32)];
      expect(
        await chunkRequest(port, 'PUT', `/v1/chunks/default/${ids[0]}`, {
          token,
          body: Buffer.alloc(CHUNK_ENVELOPE_BYTES_MAX + 1),
        }),
      ).toMatchObject({ status: 413, code: 'KISEKI_E_TOOBIG' });
      const streamed = await chunkRequest(port, 'PUT', `/v1/chunks/default/${ids[1]}`, {
        token,
        pieces: { size: MiB, count: Math.ceil(CHUNK_ENVELOPE_BYTES_MAX / MiB) + 4 },
      });
      expect(streamed).toMatchObject({ status: 413 });
      for (const id of ids) {
        expect(await chunkRequest(port, 'HEAD', `/v1/chunks/default/${id}`, { token })).toMatchObject({
          status: 404,
        });
      }
      await nothingLost();
    });

    it('malformed chunk PUTs (not an envelope, too short, empty, for another chunk id, bad id or tenant in the path, bad content-length) are refused with 4xx, and nothing is stored', async () => {
      const port = server.chunkPort;
      const token = theirs!.client.rpc.token;
      const id = 'cf'.repeat(32);
      const path = `/v1/chunks/other/${id}`;
      const replies: Record<string, HttpReply> = {
        'not an envelope': await chunkRequest(port, 'PUT', path, { token, body: new Rng(503).bytes(1000) }),
        'too short': await chunkRequest(port, 'PUT', path, { token, body: Buffer.from('short') }),
        empty: await chunkRequest(port, 'PUT', path, { token, body: Buffer.alloc(0) }),
        'envelope of another chunk': await chunkRequest(port, 'PUT', path, { token, body: theirEnvelope }),
        'bad chunk id': await chunkRequest(port, 'PUT', '/v1/chunks/other/not-hex', {
          token,
          body: theirEnvelope,
        }),
        'bad tenant': await chunkRequest(port, 'PUT', `/v1/chunks/Other!/${id}`, {
          token,
          body: theirEnvelope,
        }),
        'bad content-length': await chunkRequest(port, 'PUT', path, {
          token,
          headers: { 'content-length': 'lots' },
        }).catch((err: Error) => ({ status: 0, code: `connection failed: ${err.message}` })),
      };
      const wrong = Object.entries(replies)
        .filter(([, r]) => r.status < 400 || r.status >= 500)
        .map(([what, r]) => `${what}: ${r.status} ${r.code ?? ''}`);
      expect(wrong).toEqual([]);
      expect(await chunkRequest(port, 'HEAD', path, { token })).toMatchObject({ status: 404 });
      await nothingLost();
    });
  });
});
