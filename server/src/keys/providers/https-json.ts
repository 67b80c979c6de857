/**
 * The HTTPS JSON transport the Vault and AWS KMS providers share: one undici Pool per KMS
 * endpoint, TLS verified against the configured CA (or the system store), bounded bodies, and
 * transport failures turned into KISEKI_E_UNAVAILABLE naming only their error code. Request and
 * response bodies are never logged or quoted in errors: they carry key material.
 */
import { KisekiError } from '@kiseki/proto';
import { Pool } from 'undici';

export const KMS_RESPONSE_BYTES_MAX = 1 << 20;
const KMS_HTTP_BACKSTOP_TIMEOUT_MS = 60_000;

export interface HttpsJsonOptions {
  /** Base URL, e.g. https://vault.example:8200. http:// is refused unless `allowPlainHttp`. */
  readonly url: string;
  /** PEM CA bundle to trust instead of the system store. */
  readonly caPem?: string;
  /** For tests against a loopback server only. */
  readonly allowPlainHttp?: boolean;
  readonly connectionsMax?: number;
}

export interface JsonResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, or undefined for an empty or non-JSON body. */
  readonly json: unknown;
}

export class HttpsJson {
  readonly #pool: Pool;
  readonly origin: string;

  constructor(
    readonly what: string,
    o: HttpsJsonOptions,
  ) {
    const u = new URL(o.url);
    if (u.protocol !== 'https:' && !(o.allowPlainHttp && u.protocol === 'http:')) {
      throw new KisekiError('KISEKI_E_INVAL', `${what} URL must be https:// (got ${u.protocol})`);
    }
    this.origin = u.origin;
    this.#pool = new Pool(u.origin, {
      connections: o.connectionsMax ?? 8,
      connect: o.caPem ? { ca: o.caPem } : {},
      // resilient() bounds each attempt (and aborts it); these only catch a caller without it.
      headersTimeout: KMS_HTTP_BACKSTOP_TIMEOUT_MS,
      bodyTimeout: KMS_HTTP_BACKSTOP_TIMEOUT_MS,
    });
  }

  async request(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    opts: { headers?: Record<string, string>; body?: string; signal?: AbortSignal } = {},
  ): Promise<JsonResponse> {
    let res: Awaited<ReturnType<Pool['request']>>;
    try {
      res = await this.#pool.request({
        method,
        path,
        headers: opts.headers,
        body: opts.body,
        signal: opts.signal,
      });
    } catch (err) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      const code = (err as { code?: string }).code ?? (err as Error).name;
      throw new KisekiError(
        'KISEKI_E_UNAVAILABLE',
        `${this.what} at ${this.origin} is unreachable (${code})`,
      );
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const c of res.body) {
        size += (c as Buffer).length;
        if (size > KMS_RESPONSE_BYTES_MAX) {
          res.body.destroy();
          throw new KisekiError('KISEKI_E_UNAVAILABLE', `${this.what} sent an oversized response`);
        }
        chunks.push(c as Buffer);
      }
    } catch (err) {
      if (err instanceof KisekiError) throw err;
      if (opts.signal?.aborted) throw opts.signal.reason;
      throw new KisekiError('KISEKI_E_UNAVAILABLE', `${this.what} response was cut off`);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    let json: unknown;
    try {
      json = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, headers: res.headers, json };
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}

/** Status codes that mean "try again later" rather than "no". */
export function isUnavailableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}
