/**
 * Timeouts, retries with backoff and a circuit breaker, once, for every tenant KMS provider.
 * `resilient(provider)` returns a provider with the same interface (I-K16) whose calls:
 *  - give up on one attempt after `timeout_ms` (KISEKI_E_TIMEOUT), aborting the request;
 *  - retry only "no answer" failures (KISEKI_E_UNAVAILABLE, KISEKI_E_TIMEOUT), up to
 *    `attempts_max`, with full-jitter exponential backoff between `backoff_base_ms` and
 *    `backoff_max_ms`;
 *  - fail fast with KISEKI_E_UNAVAILABLE while the breaker is open: after
 *    `breaker_failures_max` consecutive no-answer failures it opens for `breaker_open_ms`, then
 *    lets one trial call through (half-open) and closes on its success.
 * An answer that says no (CRYPTO, SHREDDED, AUTH, CORRUPT …) is final: not retried, and it counts
 * as the KMS being reachable. Nothing is stored by this layer, so a failure never leaves a
 * half-written key: callers persist a wrapped key only after `wrap` returned it.
 */
import { KisekiError } from '@kiseki/proto';
import type { DataKey, KmsCallOptions, KmsHealth, TenantKmsProvider, WrapContext } from './provider.ts';

/** Pino-compatible sink for one debug line per KMS call (op, tenant, epoch, attempt, ms,
 * outcome code). Never given key material, wrapped blobs or credentials. */
export interface KmsLog {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ResilienceOptions {
  readonly log?: KmsLog;
  readonly timeoutMs?: number;
  readonly attemptsMax?: number;
  readonly backoffBaseMs?: number;
  readonly backoffMaxMs?: number;
  readonly breakerFailuresMax?: number;
  readonly breakerOpenMs?: number;
  readonly clock?: () => number;
  readonly random?: () => number;
}

export const KMS_TIMEOUT_MS_DEFAULT = 5_000;
export const KMS_ATTEMPTS_MAX_DEFAULT = 3;
export const KMS_BACKOFF_BASE_MS_DEFAULT = 100;
export const KMS_BACKOFF_MAX_MS_DEFAULT = 2_000;
export const KMS_BREAKER_FAILURES_MAX_DEFAULT = 5;
export const KMS_BREAKER_OPEN_MS_DEFAULT = 10_000;

export type BreakerState = 'closed' | 'open' | 'half-open';

/** A consecutive-failure circuit breaker with one trial call in half-open. Pure: time comes in. */
export class CircuitBreaker {
  #failures = 0;
  #openedAtMs = 0;
  #state: BreakerState = 'closed';
  #trialInFlight = false;

  constructor(
    readonly failuresMax: number,
    readonly openMs: number,
    private readonly clock: () => number,
  ) {}

  get state(): BreakerState {
    if (this.#state === 'open' && this.clock() - this.#openedAtMs >= this.openMs) this.#state = 'half-open';
    return this.#state;
  }

  /** Ms until an open breaker lets a trial through; 0 when calls may go. */
  retryInMs(): number {
    return this.state === 'open' ? this.openMs - (this.clock() - this.#openedAtMs) : 0;
  }

  /** Whether a call may go now; in half-open only one trial at a time. */
  tryAcquire(): boolean {
    const s = this.state;
    if (s === 'closed') return true;
    if (s === 'open' || this.#trialInFlight) return false;
    this.#trialInFlight = true;
    return true;
  }

  success(): void {
    this.#failures = 0;
    this.#state = 'closed';
    this.#trialInFlight = false;
  }

  failure(): void {
    this.#failures++;
    const wasTrial = this.#trialInFlight;
    this.#trialInFlight = false;
    if (wasTrial || this.#failures >= this.failuresMax) {
      this.#state = 'open';
      this.#openedAtMs = this.clock();
    }
  }
}

const RETRYABLE = new Set(['KISEKI_E_UNAVAILABLE', 'KISEKI_E_TIMEOUT']);

function isRetryable(err: unknown): boolean {
  return err instanceof KisekiError && RETRYABLE.has(err.code);
}

/** Anything a provider threw that is not a KisekiError is a transport failure; only its code or
 * name survives, so a message that might quote a request can't leak. */
function normalize(kind: string, op: string, err: unknown): Error {
  if (err instanceof KisekiError) return err;
  const e = err as { code?: unknown; name?: unknown };
  const what = typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? e.name : 'error';
  return new KisekiError(
    'KISEKI_E_UNAVAILABLE',
    `KMS ${kind} ${op} failed (${what}); check that it is reachable`,
  );
}

/** Drops a result that arrived after its attempt timed out, zeroing any key bytes in it. */
function discardLate(v: unknown): void {
  if (Buffer.isBuffer(v)) v.fill(0);
  else if (v && typeof v === 'object' && Buffer.isBuffer((v as DataKey).plaintext))
    (v as DataKey).plaintext.fill(0);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface ResilientProvider extends TenantKmsProvider {
  readonly breaker: CircuitBreaker;
  readonly inner: TenantKmsProvider;
}

export function resilient(inner: TenantKmsProvider, o: ResilienceOptions = {}): ResilientProvider {
  const timeoutMs = o.timeoutMs ?? KMS_TIMEOUT_MS_DEFAULT;
  const attemptsMax = Math.max(1, o.attemptsMax ?? KMS_ATTEMPTS_MAX_DEFAULT);
  const baseMs = o.backoffBaseMs ?? KMS_BACKOFF_BASE_MS_DEFAULT;
  const maxMs = o.backoffMaxMs ?? KMS_BACKOFF_MAX_MS_DEFAULT;
  const random = o.random ?? Math.random;
  const breaker = new CircuitBreaker(
    o.breakerFailuresMax ?? KMS_BREAKER_FAILURES_MAX_DEFAULT,
    o.breakerOpenMs ?? KMS_BREAKER_OPEN_MS_DEFAULT,
    o.clock ?? Date.now,
  );
  const kind = inner.kind;

  async function attempt<T>(
    op: string,
    fn: (signal: AbortSignal) => Promise<T>,
    outer?: AbortSignal,
  ): Promise<T> {
    const ac = new AbortController();
    const timer = setTimeout(
      () =>
        ac.abort(
          new KisekiError('KISEKI_E_TIMEOUT', `KMS ${kind} ${op} did not answer within ${timeoutMs} ms`),
        ),
      timeoutMs,
    );
    const signal = outer ? AbortSignal.any([outer, ac.signal]) : ac.signal;
    try {
      const work = fn(signal);
      return await new Promise<T>((resolve, reject) => {
        const onAbort = () => {
          work.then(discardLate, () => {});
          reject(signal.reason);
        };
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        work.then(
          (v) => {
            signal.removeEventListener('abort', onAbort);
            if (signal.aborted) discardLate(v);
            resolve(v);
          },
          (e) => {
            signal.removeEventListener('abort', onAbort);
            reject(e);
          },
        );
      });
    } finally {
      clearTimeout(timer);
    }
  }

  async function call<T>(
    op: string,
    what: { tenant?: string; epoch?: number },
    fn: (signal: AbortSignal) => Promise<T>,
    outer?: AbortSignal,
  ): Promise<T> {
    let last: Error | undefined;
    for (let i = 0; i < attemptsMax; i++) {
      if (!breaker.tryAcquire()) {
        // The breaker opened during our own retries: the failure that opened it says more.
        if (last) throw last;
        throw new KisekiError(
          'KISEKI_E_UNAVAILABLE',
          `KMS ${kind} is unavailable (circuit open after repeated failures; next try in ${Math.ceil(breaker.retryInMs())} ms)`,
        );
      }
      const t0 = performance.now();
      try {
        const v = await attempt(op, fn, outer);
        breaker.success();
        o.log?.debug(
          { kms: kind, op, ...what, attempt: i + 1, ms: Math.round(performance.now() - t0) },
          'kms call ok',
        );
        return v;
      } catch (err) {
        const e = normalize(kind, op, err);
        o.log?.debug(
          {
            kms: kind,
            op,
            ...what,
            attempt: i + 1,
            ms: Math.round(performance.now() - t0),
            code: (e as KisekiError).code,
          },
          'kms call failed',
        );
        if (outer?.aborted) {
          breaker.success();
          throw err;
        }
        last = e;
        if (!isRetryable(last)) {
          breaker.success();
          throw last;
        }
        breaker.failure();
        if (breaker.state === 'open') o.log?.warn({ kms: kind, op, ...what }, 'kms circuit opened');
      }
      if (i + 1 < attemptsMax) {
        const capMs = Math.min(maxMs, baseMs * 2 ** i);
        await sleep(Math.floor(random() * capMs), outer);
      }
    }
    throw last!;
  }

  return {
    kind,
    breaker,
    inner,
    ensureKek: (tenant: string, opts?: KmsCallOptions) =>
      call('ensureKek', { tenant }, (signal) => inner.ensureKek(tenant, { signal }), opts?.signal),
    wrap: (key: Uint8Array, ctx: WrapContext, opts?: KmsCallOptions) =>
      call(
        'wrap',
        { tenant: ctx.tenant, epoch: ctx.epoch },
        (signal) => inner.wrap(key, ctx, { signal }),
        opts?.signal,
      ),
    unwrap: (wrapped: Uint8Array, ctx: WrapContext, opts?: KmsCallOptions) =>
      call(
        'unwrap',
        { tenant: ctx.tenant, epoch: ctx.epoch },
        (signal) => inner.unwrap(wrapped, ctx, { signal }),
        opts?.signal,
      ),
    generateDataKey: (ctx: WrapContext, opts?: KmsCallOptions) =>
      call(
        'generateDataKey',
        { tenant: ctx.tenant, epoch: ctx.epoch },
        (signal) => inner.generateDataKey(ctx, { signal }),
        opts?.signal,
      ),
    destroyKek: (tenant: string, opts?: KmsCallOptions) =>
      call('destroyKek', { tenant }, (signal) => inner.destroyKek(tenant, { signal }), opts?.signal),
    /** Health is one attempt, never retried, and does not move the breaker. */
    health: async (opts?: KmsCallOptions & { tenant?: string }): Promise<KmsHealth> => {
      const t0 = performance.now();
      try {
        return await attempt('health', (signal) => inner.health({ ...opts, signal }), opts?.signal);
      } catch (err) {
        const e = normalize(kind, 'health', err);
        return { kind, ok: false, latencyMs: performance.now() - t0, detail: e.message };
      }
    },
    close: () => inner.close(),
  };
}
