/**
 * A chunk worker thread: seals and uploads blocks, downloads and opens chunks, off the client's
 * main thread (see chunk-io.ts for the protocol and docs/decisions/0006-chunk-workers.md for
 * why). It holds a copy of the tenant's chunk keys (never logged or sent, I-K8) and its own
 * HTTP connection pool to the chunk server. Plaintext leaves it only back to the main thread;
 * only sealed envelopes go on the wire (I-K2).
 */
import { parentPort } from 'node:worker_threads';
import { CHUNK_HEADER_BYTES, invariant, KisekiError, TAG_BYTES } from '@kiseki/proto';
import { ChunkTransport } from './chunk-transport.ts';
import { type ChunkKeyMaterial, ChunkKeys, wipeMaterial } from './crypto/chunk-keys.ts';
import { openChunk, sealChunk } from './crypto/seal.ts';

export type ToWorker =
  | { t: 'init'; baseUrl: string; tenant: string; connections: number; envelopePoolMax: number }
  | { t: 'keys'; material: ChunkKeyMaterial }
  | { t: 'forget' }
  | { t: 'token'; token: string }
  | { t: 'put'; id: number; token: string; buf: ArrayBuffer; len: number }
  /** Fetch and open; with `wantEnvelope`, also hand back a copy of the envelope (for the L2). */
  | { t: 'get'; id: number; token: string; hex: string; len: number; buf: ArrayBuffer; wantEnvelope: boolean }
  /** Open an envelope the main thread already has (an L2 hit). */
  | { t: 'open'; id: number; token: string; hex: string; len: number; buf: ArrayBuffer; env: Uint8Array };

export type FromWorker =
  | {
      t: 'done';
      id: number;
      /** The request's buffer, handed back for reuse (and, for a get, holding the plaintext). */
      buf: ArrayBuffer;
      hex?: string;
      /** The envelope, for a get with wantEnvelope. */
      env?: ArrayBuffer;
      err?: { code: string; message: string };
    }
  | { t: 'refresh' };

const port = parentPort;
invariant(port, 'chunk-worker.ts runs as a worker thread');

let transport: ChunkTransport | undefined;
let keys: ChunkKeys | undefined;
let token = '';
let envelopePoolMax = 0;
const envelopes: Buffer[] = [];
const tokenWaiters: Array<(t: string) => void> = [];

/** An envelope buffer for `plaintextBytes`, from the pool when one is big enough. */
function takeEnvelope(plaintextBytes: number): Buffer {
  const need = plaintextBytes + CHUNK_HEADER_BYTES + TAG_BYTES;
  const b = envelopes.pop();
  return b && b.length >= need ? b : Buffer.allocUnsafe(need);
}

function giveEnvelope(b: Buffer): void {
  if (envelopes.length < envelopePoolMax) envelopes.push(b);
}

function reply(m: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(m, transfer);
}

function failure(err: unknown): { code: string; message: string } {
  if (err instanceof KisekiError) return { code: err.code, message: err.message };
  return { code: 'KISEKI_E_INTERNAL', message: `chunk worker: ${(err as Error)?.message ?? String(err)}` };
}

function needKeys(): ChunkKeys {
  if (!keys) throw new KisekiError('KISEKI_E_CRYPTO', 'chunk worker has no tenant keys');
  return keys;
}

async function put(id: number, buf: ArrayBuffer, len: number): Promise<void> {
  let env: Buffer | undefined;
  try {
    const pt = Buffer.from(buf, 0, len);
    const k = needKeys();
    const chunkId = k.chunkId(pt);
    const hex = chunkId.toString('hex');
    env = takeEnvelope(len);
    const sealed = sealChunk(k, chunkId, pt, { into: env });
    await transport!.put(hex, sealed);
    giveEnvelope(env);
    reply({ t: 'done', id, buf, hex }, [buf]);
  } catch (err) {
    // A failed request may still be writing `env` to a dying socket: don't reuse it.
    reply({ t: 'done', id, buf, err: failure(err) }, [buf]);
  }
}

function open(hex: string, len: number, envelope: Uint8Array, buf: ArrayBuffer): void {
  const pt = openChunk(needKeys(), Buffer.from(hex, 'hex'), envelope, Buffer.from(buf));
  if (pt.length !== len)
    throw new KisekiError(
      'KISEKI_E_CORRUPT',
      `chunk ${hex.slice(0, 12)} has ${pt.length} bytes, expected ${len}`,
    );
}

async function get(
  id: number,
  hex: string,
  len: number,
  buf: ArrayBuffer,
  wantEnvelope: boolean,
): Promise<void> {
  try {
    const env = takeEnvelope(len);
    const got = await transport!.get(hex, env);
    open(hex, len, got, buf);
    // Only an envelope that opened goes back for the L2 (a copy: `env` is pooled here).
    const copy = wantEnvelope ? new Uint8Array(got).buffer : undefined;
    giveEnvelope(env);
    reply({ t: 'done', id, buf, hex, ...(copy ? { env: copy } : {}) }, copy ? [buf, copy] : [buf]);
  } catch (err) {
    reply({ t: 'done', id, buf, err: failure(err) }, [buf]);
  }
}

port.on('message', (m: ToWorker) => {
  switch (m.t) {
    case 'init':
      envelopePoolMax = m.envelopePoolMax;
      transport = new ChunkTransport(
        m.baseUrl,
        m.tenant,
        () => token,
        () =>
          new Promise<string>((resolve) => {
            tokenWaiters.push(resolve);
            reply({ t: 'refresh' });
          }),
        m.connections,
      );
      break;
    case 'keys':
      keys?.destroy();
      keys = new ChunkKeys(m.material);
      wipeMaterial(m.material);
      break;
    case 'forget':
      keys?.destroy();
      keys = undefined;
      break;
    case 'token':
      token = m.token;
      for (const w of tokenWaiters.splice(0)) w(m.token);
      break;
    case 'put':
      token = m.token;
      void put(m.id, m.buf, m.len);
      break;
    case 'get':
      token = m.token;
      void get(m.id, m.hex, m.len, m.buf, m.wantEnvelope);
      break;
    case 'open':
      try {
        open(m.hex, m.len, m.env, m.buf);
        reply({ t: 'done', id: m.id, buf: m.buf, hex: m.hex }, [m.buf]);
      } catch (err) {
        reply({ t: 'done', id: m.id, buf: m.buf, err: failure(err) }, [m.buf]);
      }
      break;
  }
});
