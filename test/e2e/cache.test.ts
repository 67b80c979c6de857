/**
 * The client's L2 cache against a real kiseki-server: `kiseki stage` pins a dataset, a later
 * session reads it with no chunk fetch (counted on the client and on the wire), the cache holds
 * only sealed envelopes, damage in it is caught and repaired, and `kiseki cache` reports and wipes.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { parseChunkEnvelope } from '@kiseki/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLI_BIN,
  cleanup,
  filesUnder,
  type RecordingProxy,
  recordingProxy,
  type ServerHandle,
  sdk,
  startServer,
  tempDir,
} from './harness.ts';

const MIB = 1024 * 1024;

describe('client cache (L2) and staging', () => {
  let server: ServerHandle;
  let cacheDir: string;
  let proxy: RecordingProxy;
  const data = new Map<string, Buffer>();
  const marker = randomBytes(32);

  const kiseki = (...args: string[]) =>
    spawnSync(CLI_BIN, ['--home', server.home, '--server', server.address, ...args], {
      encoding: 'utf8',
      timeout: 120_000,
    });

  beforeAll(async () => {
    server = await startServer({ deviceSizeBytes: 512 * MIB });
    cacheDir = tempDir('l2');
    proxy = await recordingProxy(server.chunkPort);
    const k = await sdk(server);
    await k.fs.mkdir('/ds');
    await k.fs.mkdir('/ds/sub');
    for (const [i, size] of [0, 1, 4096, MIB, 3 * MIB + 5].entries()) {
      const body = randomBytes(size);
      if (size >= 64) marker.copy(body, 17);
      data.set(`/ds/${i % 2 ? 'sub/' : ''}f${i}`, body);
    }
    for (const [p, b] of data) await k.fs.writeFile(p, b);
    await k.close();
  });
  afterAll(async () => {
    await proxy?.close();
    await server?.stop();
    if (server) cleanup(server.home);
    if (cacheDir) cleanup(cacheDir);
  });

  it('kiseki stage pins a tree; a new session then reads it with no chunk fetch from the servers', async () => {
    const r = kiseki('stage', '/ds', '--cache-dir', cacheDir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/staged 5 files/);
    const chunks = filesUnder(join(cacheDir, 'default', 'pinned'));
    expect(chunks.length).toBeGreaterThanOrEqual(6); // 3 MiB+ spans 4 blocks

    const k = await sdk(server, 'default', {
      chunkUrl: `http://127.0.0.1:${proxy.port}`,
      l2: { dir: cacheDir, capacityBytes: 1024 * MIB, mode: 'pinned' },
    });
    try {
      for (const [p, b] of data) expect((await k.fs.readFile(p)).equals(b), p).toBe(true);
      expect(k.client.cacheStats.chunkGets).toBe(0);
      expect(k.client.cacheStats.l2Hits).toBeGreaterThanOrEqual(6);
    } finally {
      await k.close();
    }
    expect(proxy.captured().includes(Buffer.from('GET /v1/chunks/'))).toBe(false);

    const st = kiseki('cache', 'stats', '--cache-dir', cacheDir);
    expect(st.status, st.stderr).toBe(0);
    expect(st.stdout).toMatch(/\d+ chunks, .* pinned/);
  });

  it('I-K1: the cache holds sealed envelopes only, never plaintext', () => {
    for (const f of filesUnder(cacheDir)) {
      const bytes = readFileSync(f);
      expect(() => parseChunkEnvelope(bytes), f).not.toThrow();
      expect(bytes.includes(marker), `${f} holds plaintext`).toBe(false);
    }
  });

  it('a torn cache file is caught by the envelope tag, dropped, and fetched again correctly', async () => {
    const victim = filesUnder(join(cacheDir, 'default', 'pinned')).sort(
      (a, b) => statSync(b).size - statSync(a).size,
    )[0]!;
    truncateSync(victim, Math.floor(statSync(victim).size / 2));
    const k = await sdk(server, 'default', {
      l2: { dir: cacheDir, capacityBytes: 1024 * MIB, mode: 'organic' },
    });
    try {
      for (const [p, b] of data) expect((await k.fs.readFile(p)).equals(b), p).toBe(true);
      expect(k.client.cacheStats.chunkGets).toBe(1);
      expect(k.client.l2!.stats().corrupt).toBe(1);
    } finally {
      await k.close();
    }
  });

  it('organic mode fills on reads and keeps within its byte bound; kiseki cache wipe empties it', async () => {
    const small = tempDir('l2-small');
    try {
      const k = await sdk(server, 'default', { l2: { dir: small, capacityBytes: 2 * MIB, mode: 'organic' } });
      try {
        for (const [p, b] of data) expect((await k.fs.readFile(p)).equals(b), p).toBe(true);
        const s = k.client.l2!.stats();
        expect(s.bytes).toBeLessThanOrEqual(2 * MIB);
        expect(s.evictions).toBeGreaterThan(0);
      } finally {
        await k.close();
      }
      const total = filesUnder(join(small, 'default')).reduce((a, f) => a + statSync(f).size, 0);
      expect(total).toBeLessThanOrEqual(2 * MIB);
    } finally {
      cleanup(small);
    }
    const w = kiseki('cache', 'wipe', '--cache-dir', cacheDir);
    expect(w.status, w.stderr).toBe(0);
    expect(filesUnder(join(cacheDir, 'default'))).toEqual([]);
  });

  it('stage fails clearly for a path that does not exist, and with a cache too small to pin the data', () => {
    const missing = kiseki('stage', '/nope', '--cache-dir', cacheDir);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/kiseki: \/nope: no such file or directory in tenant default/);
    const tiny = kiseki('stage', '/ds', '--cache-dir', cacheDir, '--cache-bytes', '1M');
    expect(tiny.status).toBe(2);
    expect(tiny.stderr).toMatch(/cache is full of staged data/);
  });
});
