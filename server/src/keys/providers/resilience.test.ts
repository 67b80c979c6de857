import { KisekiError } from '@kiseki/proto';
import { describe, expect, it } from 'vitest';
import type { KmsCallOptions, TenantKmsProvider, WrapContext } from './provider.ts';
import { CircuitBreaker, resilient } from './resilience.ts';

const ctx: WrapContext = { tenant: 't1', epoch: 1, purpose: 'tenant-data-key' };

/** A provider whose next answers are scripted: 'ok', an error code, or 'hang'. */
function scripted(script: string[]) {
  const calls: string[] = [];
  const next = async (op: string, opts?: KmsCallOptions): Promise<Uint8Array> => {
    calls.push(op);
    const step = script.shift() ?? 'ok';
    if (step === 'ok') return Buffer.from('wrapped');
    if (step === 'hang') {
      return new Promise((_, reject) =>
        opts?.signal?.addEventListener('abort', () => reject(new Error('aborted'))),
      );
    }
    throw new KisekiError(step as 'KISEKI_E_UNAVAILABLE', `scripted ${step}`);
  };
  const p: TenantKmsProvider = {
    kind: 'vault',
    ensureKek: async () => {},
    wrap: (_k, _c, o) => next('wrap', o),
    unwrap: (_w, _c, o) => next('unwrap', o),
    generateDataKey: async () => ({ plaintext: Buffer.alloc(32), wrapped: Buffer.alloc(1) }),
    health: async () => ({ kind: 'vault', ok: true, latencyMs: 0, detail: '' }),
    destroyKek: async () => {},
    close: async () => {},
  };
  return { p, calls };
}

const fast = { backoffBaseMs: 1, backoffMaxMs: 2, timeoutMs: 50 };

describe('resilient KMS calls', () => {
  it('retries no-answer failures with backoff and then succeeds', async () => {
    const { p, calls } = scripted(['KISEKI_E_UNAVAILABLE', 'KISEKI_E_TIMEOUT', 'ok']);
    const r = resilient(p, { ...fast, attemptsMax: 3 });
    expect(Buffer.from(await r.wrap(Buffer.alloc(32), ctx)).toString()).toBe('wrapped');
    expect(calls).toEqual(['wrap', 'wrap', 'wrap']);
    expect(r.breaker.state).toBe('closed');
  });

  it('does not retry an answer that says no (CRYPTO, SHREDDED)', async () => {
    for (const code of ['KISEKI_E_CRYPTO', 'KISEKI_E_SHREDDED']) {
      const { p, calls } = scripted([code]);
      const r = resilient(p, fast);
      await expect(r.unwrap(Buffer.alloc(1), ctx)).rejects.toMatchObject({ code });
      expect(calls).toHaveLength(1);
    }
  });

  it('times out a hung call with KISEKI_E_TIMEOUT and aborts it', async () => {
    const { p } = scripted(['hang', 'hang']);
    const r = resilient(p, { ...fast, attemptsMax: 2, timeoutMs: 30 });
    const t0 = Date.now();
    await expect(r.wrap(Buffer.alloc(32), ctx)).rejects.toMatchObject({ code: 'KISEKI_E_TIMEOUT' });
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('opens the breaker after repeated failures, fails fast, then closes after a good trial', async () => {
    let now = 0;
    const { p, calls } = scripted(Array(4).fill('KISEKI_E_UNAVAILABLE'));
    const r = resilient(p, {
      ...fast,
      attemptsMax: 2,
      breakerFailuresMax: 4,
      breakerOpenMs: 1000,
      clock: () => now,
    });
    await expect(r.wrap(Buffer.alloc(32), ctx)).rejects.toMatchObject({ code: 'KISEKI_E_UNAVAILABLE' });
    await expect(r.wrap(Buffer.alloc(32), ctx)).rejects.toMatchObject({ code: 'KISEKI_E_UNAVAILABLE' });
    expect(r.breaker.state).toBe('open');
    const before = calls.length;
    await expect(r.wrap(Buffer.alloc(32), ctx)).rejects.toThrow(/circuit open/);
    expect(calls.length).toBe(before);
    now = 1000;
    expect(r.breaker.state).toBe('half-open');
    expect(Buffer.from(await r.wrap(Buffer.alloc(32), ctx)).toString()).toBe('wrapped');
    expect(r.breaker.state).toBe('closed');
  });

  it('a failed half-open trial reopens at once; only one trial at a time', () => {
    let now = 0;
    const b = new CircuitBreaker(1, 100, () => now);
    expect(b.tryAcquire()).toBe(true);
    b.failure();
    expect(b.state).toBe('open');
    now = 100;
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false);
    b.failure();
    expect(b.state).toBe('open');
    expect(b.retryInMs()).toBe(100);
  });

  it('turns a foreign error into KISEKI_E_UNAVAILABLE naming only its code', async () => {
    const { p } = scripted([]);
    const r = resilient(
      {
        ...p,
        wrap: async () => {
          throw Object.assign(new Error('secret-looking message 00112233'), { code: 'ECONNREFUSED' });
        },
      },
      { ...fast, attemptsMax: 1 },
    );
    const err = (await r.wrap(Buffer.alloc(32), ctx).then(
      () => new KisekiError('KISEKI_E_INTERNAL', 'resolved'),
      (e) => e,
    )) as KisekiError;
    expect(err.code).toBe('KISEKI_E_UNAVAILABLE');
    expect(err.message).toContain('ECONNREFUSED');
    expect(err.message).not.toContain('00112233');
  });
});
