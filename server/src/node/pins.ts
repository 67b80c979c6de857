/**
 * MVCC read pins (I-V4): a pin holds an lmdb read snapshot of the view for a bounded time.
 * Reads that name an expired or unknown pin fail with KISEKI_E_PIN_EXPIRED; they never fall
 * back silently to the live view.
 */
import { KisekiError } from '@kiseki/proto';
import type { Transaction } from 'lmdb';

export const PIN_TTL_MS_MAX = 10 * 60_000;
export const PIN_TTL_MS_DEFAULT = 60_000;
export const PINS_MAX = 1024;

interface Pin {
  readonly tenant: string;
  readonly txn: Transaction;
  readonly expiresAtMs: number;
}

export class Pins {
  readonly #pins = new Map<number, Pin>();
  #next = 1;
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly snapshot: () => Transaction,
    private readonly clock: () => number = Date.now,
  ) {
    this.#timer = setInterval(() => this.sweep(), 1000);
    this.#timer.unref();
  }

  pin(
    tenant: string,
    ttlMs: number,
    watermark: number,
  ): { pin: number; watermark: number; expiresAtMs: number } {
    this.sweep();
    if (this.#pins.size >= PINS_MAX)
      throw new KisekiError('KISEKI_E_BUSY', `too many open pins (${PINS_MAX}); unpin or wait`);
    const ttl = Math.min(ttlMs || PIN_TTL_MS_DEFAULT, PIN_TTL_MS_MAX);
    const id = this.#next++;
    const expiresAtMs = this.clock() + ttl;
    this.#pins.set(id, { tenant, txn: this.snapshot(), expiresAtMs });
    return { pin: id, watermark, expiresAtMs };
  }

  get(tenant: string, id: number): Transaction {
    const p = this.#pins.get(id);
    if (!p || p.tenant !== tenant || p.expiresAtMs <= this.clock()) {
      if (p && p.expiresAtMs <= this.clock()) this.#drop(id);
      throw new KisekiError('KISEKI_E_PIN_EXPIRED', `pin ${id} expired or unknown: take a new pin`);
    }
    return p.txn;
  }

  unpin(tenant: string, id: number): void {
    const p = this.#pins.get(id);
    if (p && p.tenant === tenant) this.#drop(id);
  }

  /** The snapshots of a tenant's live pins: GC must keep what they still reference. */
  snapshots(tenant: string): Transaction[] {
    this.sweep();
    return [...this.#pins.values()].filter((p) => p.tenant === tenant).map((p) => p.txn);
  }

  sweep(): void {
    const now = this.clock();
    for (const [id, p] of this.#pins) if (p.expiresAtMs <= now) this.#drop(id);
  }

  #drop(id: number): void {
    this.#pins.get(id)?.txn.done();
    this.#pins.delete(id);
  }

  close(): void {
    clearInterval(this.#timer);
    for (const id of [...this.#pins.keys()]) this.#drop(id);
  }
}
