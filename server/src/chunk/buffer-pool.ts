/**
 * Reusable byte buffers for chunk bodies. A fresh 1 MiB Buffer per request costs twice here:
 * first-touch page faults (fresh memory is slow in this VM, MACHINE-NOTES) and the V8
 * mark-compacts that ArrayBuffer churn drives. Buffers are handed out by capacity class
 * (multiples of `quantumBytes`), and at most `pooledBytesMax` of free ones are kept.
 *
 * Contract: a buffer given back must not be used by anyone afterwards; give back only what
 * came from `take` and is no longer referenced (e.g. not after a failed write that may still
 * hold it).
 */
import { invariant } from '@kiseki/proto';

export const BODY_POOL_QUANTUM_BYTES = 64 * 1024;
export const BODY_POOL_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;

export class BufferPool {
  readonly #free = new Map<number, ArrayBuffer[]>();
  readonly #owned = new WeakSet<ArrayBuffer>();
  #pooledBytes = 0;

  constructor(
    readonly pooledBytesMax = BODY_POOL_BYTES_MAX_DEFAULT,
    readonly quantumBytes = BODY_POOL_QUANTUM_BYTES,
  ) {
    invariant(quantumBytes > 0 && pooledBytesMax >= 0, 'buffer pool bounds');
  }

  /** A buffer of exactly `bytes` (its memory is reused: contents are garbage). */
  take(bytes: number): Buffer {
    const cap = Math.max(1, Math.ceil(bytes / this.quantumBytes)) * this.quantumBytes;
    const ab = this.#free.get(cap)?.pop();
    if (ab) {
      this.#pooledBytes -= cap;
      return Buffer.from(ab, 0, bytes);
    }
    const fresh = Buffer.allocUnsafeSlow(cap);
    this.#owned.add(fresh.buffer as ArrayBuffer);
    return fresh.subarray(0, bytes);
  }

  /** Returns a buffer from `take` for reuse (ignored when the pool is full or it isn't ours). */
  give(b: Buffer): void {
    const ab = b.buffer as ArrayBuffer;
    if (!this.#owned.has(ab)) return;
    const cap = ab.byteLength;
    if (this.#pooledBytes + cap > this.pooledBytesMax) return;
    const list = this.#free.get(cap) ?? [];
    invariant(!list.includes(ab), 'a pooled buffer is given back once');
    list.push(ab);
    this.#free.set(cap, list);
    this.#pooledBytes += cap;
  }

  get pooledBytes(): number {
    return this.#pooledBytes;
  }
}
