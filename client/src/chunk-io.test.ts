import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ChunkIo } from './chunk-io.ts';
import { Keyring } from './crypto/index.ts';

const BS = 256 * 1024;

/** A real HTTP chunk endpoint holding envelopes in memory (same routes as the chunk server). */
async function chunkServer(opts: { tamper?: boolean; token?: string } = {}) {
  const stored = new Map<string, Buffer>();
  const seen: Buffer[] = [];
  let unauthorized = 0;
  const server: Server = createServer((req, res) => {
    if (opts.token && req.headers.authorization !== `Bearer ${opts.token}`) {
      unauthorized++;
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"code":"KISEKI_E_AUTH"}');
      req.resume();
      return;
    }
    const id = (req.url ?? '').split('/').pop()!;
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      if (req.method === 'PUT') {
        const body = Buffer.concat(parts);
        seen.push(body);
        const created = !stored.has(id);
        stored.set(id, body);
        res.writeHead(created ? 201 : 200, { 'content-length': 0 }).end();
      } else {
        const env = stored.get(id);
        if (!env) {
          res.writeHead(404, { 'content-type': 'application/json' }).end('{"code":"KISEKI_E_NOENT"}');
          return;
        }
        const out = Buffer.from(env);
        if (opts.tamper) out[out.length - 1]! ^= 1;
        res.writeHead(200, { 'content-length': out.length }).end(out);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    stored,
    seen,
    unauthorized: () => unauthorized,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function keyring(): Keyring {
  return new Keyring(
    [{ epoch: 1, tenantKey: Buffer.alloc(32, 3), systemPart: Buffer.alloc(32, 4) }],
    1,
    'tenant',
    60_000,
  );
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(opts: { tamper?: boolean; cacheBytes?: number; token?: string } = {}) {
  const srv = await chunkServer(opts);
  cleanups.push(srv.close);
  let token = 'stale';
  const stats = { chunkGets: 0, chunkPuts: 0, cacheHits: 0, l2Hits: 0 };
  const io = new ChunkIo({
    baseUrl: srv.url,
    tenant: 'default',
    blockSize: BS,
    cacheBytes: opts.cacheBytes ?? 4 * BS,
    workers: 2,
    token: () => (opts.token ? token : 'x'),
    refresh: async () => {
      token = opts.token ?? 'x';
      return token;
    },
    stats,
  });
  cleanups.push(() => io.close());
  const keys = keyring();
  io.setKeys(keys.chunkKeyMaterial());
  return { srv, io, keys, stats };
}

describe('ChunkIo (worker threads, real HTTP)', () => {
  it('I-X2, I-K2: puts carry the dedup id and only sealed bytes; reads return the plaintext', async () => {
    const { srv, io, keys, stats } = await setup();
    const blocks = Array.from({ length: 12 }, (_, i) => randomBytes(i === 11 ? 1000 : BS));
    const ids = await Promise.all(blocks.map((b) => io.put(b)));
    for (const [i, id] of ids.entries()) expect(id).toBe(keys.chunkId(blocks[i]!).toString('hex'));
    expect(srv.seen.length).toBe(12);
    for (const env of srv.seen) for (const b of blocks) expect(env.includes(b.subarray(0, 64))).toBe(false);
    for (const [i, id] of ids.entries()) {
      const got: Buffer[] = [];
      await io.read(id, blocks[i]!.length, (pt) => got.push(Buffer.from(pt)));
      expect(got[0]!.equals(blocks[i]!)).toBe(true);
    }
    expect(stats.chunkPuts).toBe(12);
    expect(stats.chunkGets).toBe(12);
    // The cache holds 4 blocks: the last ones hit, older ones were evicted and fetch again.
    await io.read(ids[11]!, 1000, () => {});
    expect(stats.cacheHits).toBe(1);
    await io.read(ids[0]!, BS, (pt) => expect(pt.equals(blocks[0]!)).toBe(true));
    expect(stats.chunkGets).toBe(13);
  });

  it('I-K7: a tampered envelope fails with KISEKI_E_CRYPTO and nothing is returned', async () => {
    const { io } = await setup({ tamper: true });
    const id = await io.put(randomBytes(BS));
    let used = false;
    await expect(
      io.read(id, BS, () => {
        used = true;
      }),
    ).rejects.toMatchObject({ code: 'KISEKI_E_CRYPTO' });
    expect(used).toBe(false);
  });

  it('a 401 makes the worker ask for a fresh token once and retry', async () => {
    const { srv, io } = await setup({ token: 'fresh' });
    const id = await io.put(randomBytes(1000));
    expect(srv.unauthorized()).toBe(1);
    expect(srv.stored.has(id)).toBe(true);
  });

  it('a missing chunk is KISEKI_E_NOENT; after close, calls fail clearly', async () => {
    const { io } = await setup();
    await expect(io.read('ab'.repeat(32), 10, () => {})).rejects.toMatchObject({ code: 'KISEKI_E_NOENT' });
    await io.close();
    expect(() => io.put(Buffer.alloc(1))).toThrow(/closed/);
  });
});
