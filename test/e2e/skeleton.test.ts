/**
 * The walking skeleton, end to end: a real kiseki-server, a real FUSE mount, coreutils.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanup,
  diffTrees,
  type MountHandle,
  mountFs,
  recordingProxy,
  type ServerHandle,
  sh,
  startServer,
  tempDir,
} from './harness.ts';

/** Deterministic PRNG so a failing tree can be rebuilt from its seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A tree of `files` files of 0 B .. 8 MiB in nested directories, with a symlink. */
function makeTree(root: string, files: number, seed: number): { bytes: number } {
  const rnd = mulberry32(seed);
  const dirs = [root];
  let bytes = 0;
  for (let i = 0; i < 60; i++) {
    const parent = dirs[Math.floor(rnd() * dirs.length)]!;
    const d = join(parent, `dir-${i}`);
    mkdirSync(d);
    dirs.push(d);
  }
  for (let i = 0; i < files; i++) {
    const r = rnd();
    // Mostly small files, some around block boundaries, a few large ones.
    const size =
      i === 0
        ? 0
        : r < 0.8
          ? Math.floor(rnd() * 16_384)
          : r < 0.98
            ? Math.floor(rnd() * 1.2 * 1024 * 1024)
            : Math.floor(rnd() * 8 * 1024 * 1024);
    const dir = dirs[Math.floor(rnd() * dirs.length)]!;
    writeFileSync(join(dir, `file-${i}.bin`), randomBytes(size));
    bytes += size;
  }
  writeFileSync(join(root, 'exact-1MiB.bin'), randomBytes(1024 * 1024));
  writeFileSync(join(root, 'exact-8MiB.bin'), randomBytes(8 * 1024 * 1024));
  symlinkSync('dir-0/../exact-1MiB.bin', join(root, 'link-to-1MiB'));
  symlinkSync('/nonexistent/target', join(root, 'dangling-link'));
  return { bytes };
}

function* walk(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile()) yield p;
  }
}

/** Every file under `dir` that contains `needle`. */
function filesContaining(dir: string, needle: Buffer): string[] {
  const hits: string[] = [];
  for (const f of walk(dir)) {
    const size = statSync(f).size;
    if (size === 0) continue;
    if (readFileSync(f).includes(needle)) hits.push(f);
  }
  return hits;
}

describe('walking skeleton over FUSE', () => {
  let server: ServerHandle;
  let mnt: MountHandle;
  let src: string;

  beforeAll(async () => {
    server = await startServer({ deviceSizeBytes: 1024 ** 3 });
    mnt = await mountFs(server);
    src = tempDir('src');
  });

  afterAll(async () => {
    await mnt?.unmount();
    await server?.stop();
    cleanup(src);
    if (mnt) cleanup(mnt.mountpoint);
    if (server) cleanup(server.home);
  });

  it('I-L2: cp -a of a 1000-file tree reads back identical, also after kill -9 of the server', async () => {
    const tree = join(src, 'tree');
    mkdirSync(tree);
    const { bytes } = makeTree(tree, 1000, 20261129);
    const t0 = Date.now();
    sh('cp', ['-a', tree, mnt.mountpoint]);
    const copyMs = Date.now() - t0;
    expect(diffTrees(tree, join(mnt.mountpoint, 'tree'))).toBe('');
    console.log(`cp -a of ${(bytes / 2 ** 20).toFixed(1)} MiB in 1000 files: ${copyMs} ms`);

    // Every acknowledged write must survive a crash of the server.
    await server.kill('SIGKILL');
    await server.restart();
    expect(server.log()).toMatch(/serving/);
    // The running mount reconnects (new session) ...
    expect(diffTrees(tree, join(mnt.mountpoint, 'tree'))).toBe('');
    // ... and a fresh mount, with nothing cached in the kernel, sees the same tree.
    const fresh = await mountFs(server);
    try {
      expect(diffTrees(tree, join(fresh.mountpoint, 'tree'))).toBe('');
    } finally {
      await fresh.unmount();
      cleanup(fresh.mountpoint);
    }
  });

  it('I-K1: a content marker and a file name written through the mount appear in no file under the data directory', async () => {
    const marker = randomBytes(32);
    const name = `secret-name-${randomBytes(8).toString('hex')}.dat`;
    const body = Buffer.concat([randomBytes(1000), marker, randomBytes(3 * 1024 * 1024), marker]);
    writeFileSync(join(mnt.mountpoint, name), body);
    mkdirSync(join(mnt.mountpoint, `${name}-dir`));
    expect(readFileSync(join(mnt.mountpoint, name)).equals(body)).toBe(true);
    // Make sure everything is on disk: the WAL is fsynced per commit, chunks per put.
    await mnt.unmount();
    mnt = await mountFs(server, { mountpoint: mnt.mountpoint });
    expect(readFileSync(join(mnt.mountpoint, name)).equals(body)).toBe(true);
    expect(filesContaining(server.home, marker)).toEqual([]);
    expect(filesContaining(server.home, Buffer.from(name))).toEqual([]);
    expect(filesContaining(server.home, Buffer.from(name.slice(0, 20)))).toEqual([]);
  });

  it('I-K2: no plaintext content or name crosses the wire between client and server', async () => {
    const grpcProxy = await recordingProxy(server.port);
    const chunkProxy = await recordingProxy(server.chunkPort);
    const viaProxy = await mountFs(server, {
      server: `127.0.0.1:${grpcProxy.port}`,
      chunkUrl: `http://127.0.0.1:${chunkProxy.port}`,
    });
    // The proxy runs on this event loop: only asynchronous file calls here, or the test blocks it.
    try {
      const marker = randomBytes(32);
      const name = `wire-name-${randomBytes(8).toString('hex')}`;
      const body = Buffer.concat([marker, randomBytes(2 * 1024 * 1024 + 17), marker]);
      await writeFile(join(viaProxy.mountpoint, name), body);
      await mkdir(join(viaProxy.mountpoint, `${name}.d`));
      await writeFile(join(viaProxy.mountpoint, `${name}.d`, 'inner'), marker);
      expect(await readdir(viaProxy.mountpoint)).toContain(name);
      // Read back through a second mount over the same proxies, so the bytes travel again.
      const reader = await mountFs(server, {
        server: `127.0.0.1:${grpcProxy.port}`,
        chunkUrl: `http://127.0.0.1:${chunkProxy.port}`,
      });
      try {
        expect((await readFile(join(reader.mountpoint, name))).equals(body)).toBe(true);
        expect((await readFile(join(reader.mountpoint, `${name}.d`, 'inner'))).equals(marker)).toBe(true);
      } finally {
        await reader.unmount();
        cleanup(reader.mountpoint);
      }
      const wire = Buffer.concat([grpcProxy.captured(), chunkProxy.captured()]);
      expect(chunkProxy.captured().length).toBeGreaterThan(2 * 1024 * 1024); // the data did go this way
      expect(wire.includes(marker)).toBe(false);
      expect(wire.includes(Buffer.from(name))).toBe(false);
    } finally {
      await viaProxy.unmount();
      cleanup(viaProxy.mountpoint);
      await grpcProxy.close();
      await chunkProxy.close();
    }
  });
});
