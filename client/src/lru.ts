/** A byte-bounded LRU map (insertion order of a Map is the recency order). */
export class ByteLru<K, V extends { length: number }> {
  readonly #map = new Map<K, V>();
  #bytes = 0;
  hits = 0;
  misses = 0;

  constructor(readonly bytesMax: number) {}

  get(k: K): V | undefined {
    const v = this.#map.get(k);
    if (v === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.#map.delete(k);
    this.#map.set(k, v);
    return v;
  }

  set(k: K, v: V): void {
    if (v.length > this.bytesMax) return;
    const old = this.#map.get(k);
    if (old) {
      this.#bytes -= old.length;
      this.#map.delete(k);
    }
    this.#map.set(k, v);
    this.#bytes += v.length;
    for (const [key, val] of this.#map) {
      if (this.#bytes <= this.bytesMax) break;
      this.#map.delete(key);
      this.#bytes -= val.length;
    }
  }

  delete(k: K): void {
    const v = this.#map.get(k);
    if (v) {
      this.#bytes -= v.length;
      this.#map.delete(k);
    }
  }

  clear(): void {
    this.#map.clear();
    this.#bytes = 0;
  }

  get bytes(): number {
    return this.#bytes;
  }
}
