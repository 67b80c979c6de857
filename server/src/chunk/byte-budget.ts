/**
 * A FIFO byte semaphore: bounds the bytes of writes in flight (`bytesMax`). A request larger
 * than the whole budget is admitted alone (when nothing else holds bytes), so it can't starve.
 */
import { invariant, KisekiError } from '@kiseki/proto';

interface Waiter {
  readonly bytes: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

export class ByteBudget {
  private inUse = 0;
  private readonly waiters: Waiter[] = [];
  private failure: unknown;

  constructor(readonly bytesMax: number) {
    invariant(Number.isSafeInteger(bytesMax) && bytesMax > 0, `byte budget ${bytesMax}`);
  }

  get bytesInUse(): number {
    return this.inUse;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** Waits until `bytes` fit (FIFO). Rejects with the signal's reason on abort, or after `failAll`. */
  acquire(bytes: number, signal?: AbortSignal): Promise<void> {
    invariant(Number.isSafeInteger(bytes) && bytes > 0, `acquire ${bytes} bytes`);
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.waiters.length === 0 && this.fits(bytes)) {
      this.inUse += bytes;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = {
        bytes,
        resolve,
        reject,
        signal,
        onAbort: () => {
          const i = this.waiters.indexOf(w);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(
            signal?.reason ?? new KisekiError('KISEKI_E_TIMEOUT', 'aborted while waiting for write budget'),
          );
          this.grant();
        },
      };
      signal?.addEventListener('abort', w.onAbort, { once: true });
      this.waiters.push(w);
    });
  }

  release(bytes: number): void {
    invariant(bytes > 0 && bytes <= this.inUse, `release ${bytes} of ${this.inUse} bytes in use`);
    this.inUse -= bytes;
    this.grant();
  }

  /** Rejects every waiter and all future acquires with `err`. */
  failAll(err: unknown): void {
    this.failure = err;
    for (const w of this.waiters.splice(0)) {
      w.signal?.removeEventListener('abort', w.onAbort);
      w.reject(err);
    }
  }

  private fits(bytes: number): boolean {
    return this.inUse === 0 || this.inUse + bytes <= this.bytesMax;
  }

  private grant(): void {
    while (this.waiters.length > 0 && this.fits(this.waiters[0]!.bytes)) {
      const w = this.waiters.shift()!;
      w.signal?.removeEventListener('abort', w.onAbort);
      this.inUse += w.bytes;
      w.resolve();
    }
  }
}
