/**
 * An async readers–writer lock, FIFO and writer-fair: once a writer waits, later readers queue
 * behind it, so a stream of reads cannot starve truncation. Used with only `exclusive` it is a
 * mutex.
 */
export class RwLock {
  #readers = 0;
  #writer = false;
  readonly #queue: { exclusive: boolean; wake: () => void }[] = [];

  /** Run `fn` alongside other shared holders, excluding exclusive ones. */
  async shared<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#writer || this.#queue.length > 0) {
      await new Promise<void>((wake) => this.#queue.push({ exclusive: false, wake }));
    } else {
      this.#readers++;
    }
    try {
      return await fn();
    } finally {
      this.#readers--;
      this.#drain();
    }
  }

  /** Run `fn` with no other holder. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#writer || this.#readers > 0 || this.#queue.length > 0) {
      await new Promise<void>((wake) => this.#queue.push({ exclusive: true, wake }));
    } else {
      this.#writer = true;
    }
    try {
      return await fn();
    } finally {
      this.#writer = false;
      this.#drain();
    }
  }

  /** Hand the lock to the waiters at the head of the queue (state is claimed for them). */
  #drain(): void {
    while (this.#queue.length > 0 && !this.#writer) {
      const head = this.#queue[0]!;
      if (head.exclusive) {
        if (this.#readers > 0) return;
        this.#queue.shift();
        this.#writer = true;
        head.wake();
        return;
      }
      this.#queue.shift();
      this.#readers++;
      head.wake();
    }
  }
}
