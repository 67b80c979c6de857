/**
 * Chunk bytes go straight to the chunk server over HTTP/1.1 keep-alive connections (undici),
 * not through gRPC: see docs/decisions/0004-chunk-transport.md for the measurements. Only
 * sealed envelopes travel here (I-K2).
 */
import { isErrorCode, KisekiError } from '@kiseki/proto';
import { Pool } from 'undici';

export const CHUNK_CONNECTIONS_MAX = 8;
export const CHUNK_REQUEST_TIMEOUT_MS = 60_000;
export const CHUNK_UNAVAILABLE_RETRY_MS = 20_000;

export class ChunkTransport {
  readonly #pool: Pool;

  constructor(
    readonly baseUrl: string,
    readonly tenant: string,
    private readonly token: () => string,
    private readonly refresh: () => Promise<string>,
    connections = CHUNK_CONNECTIONS_MAX,
  ) {
    this.#pool = new Pool(baseUrl, {
      connections,
      pipelining: 1,
      headersTimeout: CHUNK_REQUEST_TIMEOUT_MS,
      bodyTimeout: CHUNK_REQUEST_TIMEOUT_MS,
      keepAliveTimeout: 30_000,
    });
  }

  #path(idHex: string): string {
    return `/v1/chunks/${this.tenant}/${idHex}`;
  }

  async #request(method: 'PUT' | 'GET' | 'HEAD' | 'POST', path: string, body?: Uint8Array) {
    const giveUpAt = Date.now() + CHUNK_UNAVAILABLE_RETRY_MS;
    let refreshed = false;
    for (let attempt = 0; ; attempt++) {
      let res: Awaited<ReturnType<Pool['request']>>;
      try {
        res = await this.#pool.request({
          method,
          path,
          body,
          headers: {
            authorization: `Bearer ${this.token()}`,
            ...(body
              ? { 'content-type': 'application/octet-stream', 'content-length': String(body.length) }
              : {}),
          },
        });
      } catch (err) {
        // Every chunk request is idempotent (content-addressed), so a restart is ridden out.
        if (Date.now() < giveUpAt) {
          await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 1000)));
          continue;
        }
        const code = (err as NodeJS.ErrnoException).code ?? '';
        throw new KisekiError(
          'KISEKI_E_UNAVAILABLE',
          `chunk server ${this.baseUrl} unreachable (${code || (err as Error).message})`,
        );
      }
      if (res.statusCode === 401 && !refreshed) {
        refreshed = true;
        await res.body.dump();
        await this.refresh();
        continue;
      }
      return res;
    }
  }

  async #fail(res: Awaited<ReturnType<Pool['request']>>, what: string): Promise<never> {
    let code: string | undefined;
    let message = `${what}: HTTP ${res.statusCode}`;
    try {
      const j = (await res.body.json()) as { code?: string; message?: string };
      code = j.code;
      if (j.message) message = `${what}: ${j.message}`;
    } catch {
      /* not JSON */
    }
    throw new KisekiError(isErrorCode(code) ? code : 'KISEKI_E_INTERNAL', message);
  }

  /** Stores an envelope; resolves once it is durable on the chunk server. */
  async put(idHex: string, envelope: Uint8Array): Promise<boolean> {
    const res = await this.#request('PUT', this.#path(idHex), envelope);
    if (res.statusCode === 201 || res.statusCode === 200) {
      await res.body.dump();
      return res.statusCode === 201;
    }
    return this.#fail(res, 'chunk put');
  }

  /** The envelope, received into `into` (a pooled buffer) when it fits, else into a new one. */
  async get(idHex: string, into?: Buffer): Promise<Buffer> {
    const res = await this.#request('GET', this.#path(idHex));
    if (res.statusCode !== 200) return this.#fail(res, 'chunk get');
    const len = Number(res.headers['content-length']);
    if (Number.isSafeInteger(len) && len > 0) {
      // One buffer of the announced size instead of a list of pieces.
      const out = into && into.length >= len ? into.subarray(0, len) : Buffer.allocUnsafe(len);
      let off = 0;
      for await (const piece of res.body) {
        const p = piece as Buffer;
        if (off + p.length > len)
          throw new KisekiError('KISEKI_E_CORRUPT', 'chunk server sent more bytes than announced');
        p.copy(out, off);
        off += p.length;
      }
      if (off !== len)
        throw new KisekiError('KISEKI_E_CORRUPT', 'chunk server sent fewer bytes than announced');
      return out;
    }
    return Buffer.from(await res.body.arrayBuffer());
  }

  /** Which of the ids the chunk server holds (and protects from GC for its grace period). */
  async has(idsHex: readonly string[]): Promise<boolean[]> {
    if (idsHex.length === 0) return [];
    const body = Buffer.concat(idsHex.map((h) => Buffer.from(h, 'hex')));
    const res = await this.#request('POST', `/v1/chunks/${this.tenant}/has`, body);
    if (res.statusCode !== 200) return this.#fail(res, 'chunk has');
    const bits = Buffer.from(await res.body.arrayBuffer());
    if (bits.length !== idsHex.length)
      throw new KisekiError('KISEKI_E_INTERNAL', 'chunk has: wrong answer length');
    return [...bits].map((b) => b === 1);
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}
