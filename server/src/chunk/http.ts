/**
 * Chunk data transport over plain HTTP/1.1 (chunk bytes outgrow gRPC unary here; see
 * MACHINE-NOTES "Wire"). Routes, all under one tenant the caller must be authenticated as:
 *
 *   PUT  /v1/chunks/<tenant>/<chunkIdHex>   body = envelope → 201 stored, 200 already present
 *   GET  /v1/chunks/<tenant>/<chunkIdHex>   → 200 envelope bytes (content-length) | 404
 *   HEAD /v1/chunks/<tenant>/<chunkIdHex>   → 200 (content-length = envelope size) | 404; touches
 *   POST /v1/chunks/<tenant>/has            body = N concatenated 32-byte ids → 200, N bytes,
 *                                           1 = present (each present id is touched)
 *
 * Order of checks: route → method → authenticate (401) → tenant shape (400) → tenant is the
 * caller (403) → chunk id (400) → body. Nothing about a chunk is revealed before the caller is
 * known to own the tenant. Errors are JSON {code, message} with the registry's HTTP status and
 * an `x-kiseki-error` header (HEAD carries only the header). Request bodies and Authorization
 * headers never appear in errors or log entries.
 *
 * A body over the limit is refused with 413 from content-length before reading it, or as soon
 * as the count passes the limit; the rest is discarded, never buffered.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type ChunkIdHex,
  chunkIdHex,
  isChunkIdHex,
  isTenantId,
  KisekiError,
  type TenantId,
} from '@kiseki/proto';
import { BODY_POOL_BYTES_MAX_DEFAULT, BufferPool } from './buffer-pool.ts';
import { type ChunkStore, ENVELOPE_BYTES_MAX } from './store.ts';

/** The part of ChunkStore the transport uses. */
export type ChunkStoreApi = Pick<ChunkStore, 'put' | 'get' | 'has' | 'stat'>;

export const HAS_IDS_MAX_DEFAULT = 4096;
export const DRAIN_MS_MAX_DEFAULT = 5_000;

export interface ChunkHttpLogEntry {
  readonly method: string;
  readonly route: 'chunk' | 'has' | 'unknown';
  readonly status: number;
  readonly code?: string;
  /** The tenant named in the path (not a secret); absent for unknown routes. */
  readonly tenant?: string;
}

export interface ChunkHttpOptions {
  /** Maps the Authorization header to the caller's tenant; throws KisekiError KISEKI_E_AUTH. */
  authenticate(authorizationHeader: string | undefined): TenantId | Promise<TenantId>;
  /** Optional check of an uploaded envelope (framing, tag length); throws KisekiError to refuse. */
  envelopeCheck?(chunkId: ChunkIdHex, body: Buffer): void;
  /** Ids per `has` request. Default 4096 (128 KiB body). */
  hasIdsMax?: number;
  /** Largest PUT body. Default ENVELOPE_BYTES_MAX. */
  envelopeBytesMax?: number;
  /** After an early error reply, how long to keep discarding the unread body before closing. Default 5 s. */
  drainMsMax?: number;
  /** One entry per failed request (successes are not logged here). */
  log?(entry: ChunkHttpLogEntry): void;
  /** Free PUT body buffers kept for reuse. Default 64 MiB. */
  bodyPoolBytesMax?: number;
}

interface Route {
  readonly kind: 'chunk' | 'has';
  readonly tenant: string;
  readonly id: string;
}

const PREFIX = '/v1/chunks/';

export function createChunkHttpHandler(
  store: ChunkStoreApi,
  opts: ChunkHttpOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const hasIdsMax = opts.hasIdsMax ?? HAS_IDS_MAX_DEFAULT;
  const envelopeBytesMax = opts.envelopeBytesMax ?? ENVELOPE_BYTES_MAX;
  const drainMsMax = opts.drainMsMax ?? DRAIN_MS_MAX_DEFAULT;
  const bodies = new BufferPool(opts.bodyPoolBytesMax ?? BODY_POOL_BYTES_MAX_DEFAULT);

  async function handle(req: IncomingMessage, res: ServerResponse, route: Route | undefined): Promise<void> {
    if (route === undefined) {
      throw new KisekiError(
        'KISEKI_E_NOENT',
        'no such route: use /v1/chunks/<tenant>/<chunkIdHex> (PUT, GET, HEAD) or POST /v1/chunks/<tenant>/has',
      );
    }
    const method = req.method ?? '';
    const allowed = route.kind === 'has' ? ['POST'] : ['PUT', 'GET', 'HEAD'];
    if (!allowed.includes(method)) {
      res.setHeader('allow', allowed.join(', '));
      throw new KisekiError(
        'KISEKI_E_UNSUPPORTED',
        `${method} is not supported here; allowed: ${allowed.join(', ')}`,
      );
    }
    const caller = await opts.authenticate(req.headers.authorization);
    if (!isTenantId(route.tenant))
      throw new KisekiError('KISEKI_E_INVAL', 'invalid tenant in path: use 1-63 of a-z, 0-9, -');
    if (caller !== route.tenant) {
      throw new KisekiError('KISEKI_E_ACCES', "the authenticated tenant may not access this tenant's chunks");
    }
    const tenant = caller;

    if (route.kind === 'has') {
      const body = await readBody(req, hasIdsMax * 32);
      if (body.length === 0 || body.length % 32 !== 0) {
        throw new KisekiError(
          'KISEKI_E_INVAL',
          `has: body must be 1..${hasIdsMax} concatenated 32-byte chunk ids`,
        );
      }
      const n = body.length / 32;
      const out = Buffer.alloc(n);
      for (let i = 0; i < n; i++)
        out[i] = store.has(tenant, chunkIdHex(body.subarray(i * 32, i * 32 + 32))) ? 1 : 0;
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': n,
        'cache-control': 'no-store',
      });
      res.end(out);
      return;
    }

    if (!isChunkIdHex(route.id)) {
      throw new KisekiError('KISEKI_E_INVAL', 'invalid chunk id in path: expected 64 lowercase hex digits');
    }
    const chunkId = route.id;
    if (method === 'PUT') {
      const body = await readBody(req, envelopeBytesMax, bodies);
      opts.envelopeCheck?.(chunkId, body);
      const gone = new AbortController();
      const onClose = () => {
        if (!res.writableFinished) gone.abort(new KisekiError('KISEKI_E_UNAVAILABLE', 'client went away'));
      };
      res.once('close', onClose);
      try {
        const { created } = await store.put(tenant, chunkId, body, { signal: gone.signal });
        // The store is done with the bytes once put resolves (it writes without copying).
        bodies.give(body);
        res.writeHead(created ? 201 : 200, { 'content-length': 0 });
        res.end();
      } finally {
        res.off('close', onClose);
      }
    } else if (method === 'GET') {
      const bytes = await store.get(tenant, chunkId, { alloc: (n) => bodies.take(n) });
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': bytes.length,
        'cache-control': 'no-store',
      });
      // 'finish': the socket has taken every byte, so the buffer is free again. A connection
      // that dies first never finishes: that buffer is simply left to the GC.
      res.once('finish', () => bodies.give(bytes));
      res.end(bytes);
    } else {
      const info = store.has(tenant, chunkId) ? store.stat(tenant, chunkId) : undefined;
      if (info === undefined) throw new KisekiError('KISEKI_E_NOENT', 'chunk is not stored here');
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': info.lengthBytes });
      res.end();
    }
  }

  function fail(req: IncomingMessage, res: ServerResponse, route: Route | undefined, err: unknown): void {
    const ke =
      err instanceof KisekiError
        ? err
        : new KisekiError(
            'KISEKI_E_INTERNAL',
            'internal error in the chunk server; the server log has details',
          );
    opts.log?.({
      method: req.method ?? '',
      route: route?.kind ?? 'unknown',
      status: ke.httpStatus,
      code: ke.code,
      ...(route === undefined ? {} : { tenant: route.tenant }),
    });
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    const body = req.method === 'HEAD' ? '' : JSON.stringify({ code: ke.code, message: ke.message });
    res.writeHead(ke.httpStatus, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'x-kiseki-error': ke.code,
      'cache-control': 'no-store',
    });
    res.end(body);
    if (!req.complete) drainThenClose(req, drainMsMax);
  }

  return (req, res) => {
    const route = parseRoute(req.url);
    handle(req, res, route).catch((err: unknown) => fail(req, res, route, err));
  };
}

function parseRoute(url: string | undefined): Route | undefined {
  if (url === undefined) return undefined;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  if (!path.startsWith(PREFIX)) return undefined;
  const parts = path.slice(PREFIX.length).split('/');
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') return undefined;
  const [tenant, last] = parts as [string, string];
  return last === 'has' ? { kind: 'has', tenant, id: '' } : { kind: 'chunk', tenant, id: last };
}

/**
 * Reads the whole body if it is at most `bytesMax`; otherwise KISEKI_E_TOOBIG, decided from
 * content-length before reading when the client sent one. With a `pool` and a content-length,
 * the body lands in a pooled buffer (no list of pieces, no concat).
 */
function readBody(req: IncomingMessage, bytesMax: number, pool?: BufferPool): Promise<Buffer> {
  const declared = req.headers['content-length'];
  let into: Buffer | undefined;
  if (declared !== undefined) {
    const n = Number(declared);
    if (!Number.isSafeInteger(n) || n < 0)
      return Promise.reject(new KisekiError('KISEKI_E_INVAL', 'bad content-length'));
    if (n > bytesMax) return Promise.reject(tooBig(bytesMax));
    // node:http ends the body at content-length, so it fits exactly.
    if (pool && n > 0) into = pool.take(n);
  }
  return new Promise<Buffer>((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (c: Buffer) => {
      n += c.length;
      if (n > bytesMax) {
        cleanup();
        parts.length = 0;
        req.pause();
        reject(tooBig(bytesMax));
        return;
      }
      if (into) {
        if (n > into.length) {
          cleanup();
          req.pause();
          reject(new KisekiError('KISEKI_E_INVAL', 'body longer than its content-length'));
          return;
        }
        c.copy(into, n - c.length);
      } else parts.push(c);
    };
    const onEnd = () => {
      cleanup();
      if (into && n !== into.length) {
        reject(new KisekiError('KISEKI_E_INVAL', 'body shorter than its content-length'));
        return;
      }
      resolve(into ?? Buffer.concat(parts, n));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new KisekiError('KISEKI_E_UNAVAILABLE', 'request body stream failed', { cause: err }));
    };
    const onClose = () => {
      if (req.complete) return;
      cleanup();
      reject(
        new KisekiError('KISEKI_E_UNAVAILABLE', 'client closed the connection before sending the whole body'),
      );
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

function tooBig(bytesMax: number): KisekiError {
  return new KisekiError('KISEKI_E_TOOBIG', `request body is larger than ${bytesMax} bytes`);
}

/**
 * After an early reply, discards the rest of the body (so the client can finish sending and
 * read the reply instead of seeing a reset), but closes the connection after `msMax`.
 */
function drainThenClose(req: IncomingMessage, msMax: number): void {
  const timer = setTimeout(() => req.socket.destroy(), msMax);
  timer.unref();
  req.once('end', () => clearTimeout(timer));
  req.once('close', () => clearTimeout(timer));
  req.resume();
}
