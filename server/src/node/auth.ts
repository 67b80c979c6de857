/**
 * Session tokens: a tenant workload trades its credential for a short-lived token, HMAC-signed
 * by a key that lives only in this process's memory (so a restart invalidates every session and
 * clients open a new one). The admin token guards the control plane.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { KisekiError } from '@kiseki/proto';

export const SESSION_TTL_MS_DEFAULT = 12 * 3600_000;

export interface Session {
  readonly tenant: string;
  readonly expiresAtMs: number;
}

export class SessionAuthority {
  readonly #key = randomBytes(32);
  constructor(
    private readonly ttlMs = SESSION_TTL_MS_DEFAULT,
    private readonly clock: () => number = Date.now,
  ) {}

  issue(tenant: string): { token: string; expiresAtMs: number } {
    const expiresAtMs = this.clock() + this.ttlMs;
    const body = Buffer.from(
      JSON.stringify({ t: tenant, e: expiresAtMs, n: randomBytes(8).toString('hex') }),
    ).toString('base64url');
    return { token: `v1.${body}.${this.#mac(body)}`, expiresAtMs };
  }

  /** Verifies `Bearer <token>` (or the bare token); throws KISEKI_E_AUTH. */
  verify(header: string | undefined): Session {
    const token = header?.startsWith('Bearer ') ? header.slice(7) : header;
    const parts = token?.split('.');
    if (parts?.length !== 3 || parts[0] !== 'v1')
      throw new KisekiError('KISEKI_E_AUTH', 'missing or malformed session token');
    const want = Buffer.from(this.#mac(parts[1]!));
    const got = Buffer.from(parts[2]!);
    if (want.length !== got.length || !timingSafeEqual(want, got)) {
      throw new KisekiError('KISEKI_E_AUTH', 'session token not valid here: open a new session');
    }
    const { t, e } = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString()) as { t: string; e: number };
    if (e <= this.clock()) throw new KisekiError('KISEKI_E_AUTH', 'session expired: open a new session');
    return { tenant: t, expiresAtMs: e };
  }

  #mac(body: string): string {
    return createHmac('sha256', this.#key).update(body).digest('base64url');
  }
}

export function checkAdminToken(expected: string, header: string | undefined): void {
  const token = header?.startsWith('Bearer ') ? header.slice(7) : (header ?? '');
  const a = Buffer.from(expected);
  const b = Buffer.from(token);
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    throw new KisekiError(
      'KISEKI_E_AUTH',
      'admin token required: the kiseki CLI reads it from <home>/admin.token',
    );
  }
}
