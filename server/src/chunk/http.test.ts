import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChunkIdHex, KisekiError, type TenantId } from '@kiseki/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDevice } from '../block/index.ts';
import { type ChunkHttpLogEntry, createChunkHttpHandler } from './http.ts';
import { ChunkStore } from './store.ts';
import { envelope, idOf, TENANT } from './testdata/envelopes.ts';

const TOKEN = 'Bearer s3cr3t-acme';
const OTHER_TOKEN = 'Bearer s3cr3t-zeta';
const BODY_MAX = 256 * 1024;
const MiB = 1 << 20;

let dir: string;
let dev: MemoryDevice;
let store: ChunkStore;
let server: Server;
let base: string;
let now = 1_000;
const logged: ChunkHttpLogEntry[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiseki-http-'));
  dev = new MemoryDevice({ sizeBytes: MiB + 4096 }); // 256 data blocks
  store = await ChunkStore.open({ dir, device: dev, criticalRatio: 0.5, now: () => now });
  const handler = createChunkHttpHandler(store, {
    authenticate(header) {
      if (header === TOKEN) return TENANT;
      if (header === OTHER_TOKEN) return 'zeta' as TenantId;
      throw new KisekiError('KISEKI_E_AUTH', 'missing or unknown bearer token');
    },
    envelopeCheck(_id, body) {
      if (body[0] === 0xee) throw new KisekiError('KISEKI_E_INVAL', 'envelope header is malformed');
    },
    envelopeBytesMax: BODY_MAX,
    hasIdsMax: 8,
    log: (e) => logged.push(e),
  });
  server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chunks`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

interface ReqInit {
  method?: string;
  body?: Uint8Array | ReadableStream<Uint8Array>;
  /** Authorization header; null sends none. Default TOKEN. */
  auth?: string | null;
}

function req(path: string, init: ReqInit = {}): Promise<Response> {
  const headers = new Headers();
  if (init.auth !== null) headers.set('authorization', init.auth ?? TOKEN);
  const stream = init.body instanceof ReadableStream;
  return fetch(`${base}/${path}`, {
    method: init.method ?? 'GET',
    headers,
    body: init.body as BodyInit | undefined,
    ...(stream ? { duplex: 'half' } : {}),
  } as RequestInit);
}

async function errorOf(r: Response): Promise<{ status: number; code: string; text: string }> {
  const text = await r.text();
  return { status: r.status, code: (JSON.parse(text) as { code: string }).code, text };
}

function chunk(seed: number, length: number): { id: ChunkIdHex; bytes: Buffer } {
  const bytes = envelope(seed, length);
  return { id: idOf(bytes), bytes };
}

describe('chunk HTTP transport', () => {
  it('PUT stores (201), repeats (200), GET returns the bytes, HEAD answers with the size', async () => {
    const a = chunk(1, 50_000);
    let r = await req(`acme/${a.id}`, { method: 'PUT', body: a.bytes });
    expect(r.status).toBe(201);
    r = await req(`acme/${a.id}`, { method: 'PUT', body: a.bytes });
    expect(r.status).toBe(200);
    r = await req(`acme/${a.id}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-length')).toBe('50000');
    expect(Buffer.from(await r.arrayBuffer()).equals(a.bytes)).toBe(true);
    now = 2_000;
    r = await req(`acme/${a.id}`, { method: 'HEAD' });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-length')).toBe('50000');
    expect(store.stat(TENANT, a.id)?.lastTouchedMs).toBe(2_000); // HEAD touches
  });

  it('GET and HEAD of a missing chunk are 404', async () => {
    const missing = chunk(2, 100).id;
    const r = await req(`acme/${missing}`);
    expect(await errorOf(r)).toMatchObject({ status: 404, code: 'KISEKI_E_NOENT' });
    const h = await req(`acme/${missing}`, { method: 'HEAD' });
    expect(h.status).toBe(404);
    expect(h.headers.get('x-kiseki-error')).toBe('KISEKI_E_NOENT');
  });

  it('POST has answers one byte per id and touches the present ones', async () => {
    const a = chunk(3, 500);
    const b = chunk(4, 500);
    await req(`acme/${a.id}`, { method: 'PUT', body: a.bytes });
    await req(`acme/${b.id}`, { method: 'PUT', body: b.bytes });
    now = 3_000;
    const ids = [a.id, chunk(5, 500).id, b.id].map((id) => Buffer.from(id, 'hex'));
    const r = await req('acme/has', { method: 'POST', body: Buffer.concat(ids) });
    expect(r.status).toBe(200);
    expect([...new Uint8Array(await r.arrayBuffer())]).toEqual([1, 0, 1]);
    expect(store.stat(TENANT, b.id)?.lastTouchedMs).toBe(3_000);
    expect(await errorOf(await req('acme/has', { method: 'POST', body: Buffer.alloc(33) }))).toMatchObject({
      status: 400,
      code: 'KISEKI_E_INVAL',
    });
    expect(
      await errorOf(await req('acme/has', { method: 'POST', body: Buffer.alloc(9 * 32) })),
    ).toMatchObject({
      status: 413,
      code: 'KISEKI_E_TOOBIG',
    });
  });

  it('401 without valid credentials, 403 for another tenant, and neither leaks the token', async () => {
    const a = chunk(6, 300);
    await req(`acme/${a.id}`, { method: 'PUT', body: a.bytes });
    const none = await errorOf(await req(`acme/${a.id}`, { auth: null }));
    expect(none).toMatchObject({ status: 401, code: 'KISEKI_E_AUTH' });
    const bad = await errorOf(await req(`acme/${a.id}`, { auth: 'Bearer wrong-token-xyz' }));
    expect(bad).toMatchObject({ status: 401, code: 'KISEKI_E_AUTH' });
    expect(bad.text).not.toContain('wrong-token-xyz');
    // zeta may not read, write or probe acme's chunks (I-T1, I-WA6: no existence oracle)
    for (const init of [
      {},
      { method: 'PUT', body: a.bytes },
      { method: 'POST', body: Buffer.from(a.id, 'hex') },
    ]) {
      const path = init.method === 'POST' ? 'acme/has' : `acme/${a.id}`;
      const e = await errorOf(await req(path, { ...init, auth: OTHER_TOKEN }));
      expect(e).toMatchObject({ status: 403, code: 'KISEKI_E_ACCES' });
      expect(e.text).not.toContain('s3cr3t');
    }
    expect(logged.some((l) => JSON.stringify(l).includes('s3cr3t'))).toBe(false);
  });

  it('400 for a bad chunk id or tenant, 404 for unknown routes, 501 for unsupported methods', async () => {
    expect(await errorOf(await req('acme/not-hex'))).toMatchObject({ status: 400, code: 'KISEKI_E_INVAL' });
    expect(await errorOf(await req(`acme/${'A'.repeat(64)}`))).toMatchObject({
      status: 400,
      code: 'KISEKI_E_INVAL',
    });
    expect(await errorOf(await req(`Bad_Tenant/${chunk(7, 100).id}`, { auth: TOKEN }))).toMatchObject({
      status: 400,
      code: 'KISEKI_E_INVAL',
    });
    expect(await errorOf(await req('acme'))).toMatchObject({ status: 404, code: 'KISEKI_E_NOENT' });
    expect(await errorOf(await fetch(`${base.replace('/v1/chunks', '')}/v2/x`))).toMatchObject({
      status: 404,
    });
    const del = await req(`acme/${chunk(7, 100).id}`, { method: 'DELETE' });
    expect(del.headers.get('allow')).toBe('PUT, GET, HEAD');
    expect(await errorOf(del)).toMatchObject({ status: 501, code: 'KISEKI_E_UNSUPPORTED' });
    expect((await req('acme/has')).status).toBe(501);
  });

  it('400 for an envelope below the minimum or refused by envelopeCheck; the body is never echoed', async () => {
    const tiny = Buffer.from('not-an-envelope-secret-bytes');
    const e = await errorOf(await req(`acme/${idOf(tiny)}`, { method: 'PUT', body: tiny }));
    expect(e).toMatchObject({ status: 400, code: 'KISEKI_E_INVAL' });
    expect(e.text).not.toContain('secret-bytes');
    const marked = envelope(8, 1000);
    marked[0] = 0xee;
    expect(await errorOf(await req(`acme/${idOf(marked)}`, { method: 'PUT', body: marked }))).toMatchObject({
      status: 400,
      code: 'KISEKI_E_INVAL',
    });
    expect(store.has(TENANT, idOf(marked))).toBe(false);
  });

  it('413 for a body over the limit, from content-length or counted while streaming', async () => {
    const big = Buffer.alloc(BODY_MAX + 1);
    const id = idOf(big);
    expect(await errorOf(await req(`acme/${id}`, { method: 'PUT', body: big }))).toMatchObject({
      status: 413,
      code: 'KISEKI_E_TOOBIG',
    });
    // No content-length: 4 MiB streamed in 64 KiB pieces, refused once the count passes the limit.
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= 4 * MiB) return c.close();
        sent += 64 * 1024;
        c.enqueue(new Uint8Array(64 * 1024));
      },
    });
    const r = await req(`acme/${id}`, { method: 'PUT', body: stream });
    expect(await errorOf(r)).toMatchObject({ status: 413, code: 'KISEKI_E_TOOBIG' });
    expect(store.has(TENANT, id)).toBe(false);
    // The connection pool still works afterwards.
    expect((await req(`acme/${chunk(9, 100).id}`)).status).toBe(404);
  });

  it('maps store failures: 507 at the critical threshold, 500 for a corrupt chunk', async () => {
    const stored: ChunkIdHex[] = [];
    for (let i = 0; ; i++) {
      const c = chunk(100 + i, 60 * 1024); // 15 blocks
      const r = await req(`acme/${c.id}`, { method: 'PUT', body: c.bytes });
      if (r.status !== 201) {
        expect(await errorOf(r)).toMatchObject({ status: 507, code: 'KISEKI_E_CAPACITY_CRITICAL' });
        break;
      }
      stored.push(c.id);
    }
    expect(stored.length).toBeGreaterThan(3);
    // Flip a bit in the first chunk stored (block 0 of the data area).
    dev.flipBit(dev.dataStartBytes + 10);
    const first = [...store.list(TENANT)].find((c) => c.lengthBytes === 50_000)!;
    const e = await errorOf(await req(`acme/${first.chunkId}`));
    expect(e).toMatchObject({ status: 500, code: 'KISEKI_E_CORRUPT' });
  });
});
