/**
 * Serializes async operations per key (FIFO). Holds one entry per key with work queued, so its
 * size is bounded by the operations in flight.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  get keysHeld(): number {
    return this.tails.size;
  }

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key);
    let release!: () => void;
    const mine = new Promise<void>((r) => {
      release = r;
    });
    const tail = prev === undefined ? mine : prev.then(() => mine);
    this.tails.set(key, tail);
    if (prev !== undefined) await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
