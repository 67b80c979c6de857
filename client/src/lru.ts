/** A byte-bounded LRU map (insertion order of a Map is the recency order). */
export class ByteLru<K, V extends { length: number }> {
  readonly #map = new Map<K, V>();
  #bytes = 0;
  hits = 0;
  misses = 0;

  /** `onEvict` gets every value that leaves the map (eviction, replacement, delete, clear), so
   * a caller can recycle its memory. */
  constructor(
    readonly bytesMax: number,
    private readonly onEvict?: (v: V, k: K) => void,
  ) {}

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

  /** The value without counting a hit or changing recency. */
  peek(k: K): V | undefined {
    return this.#map.get(k);
  }

  /** Stores the value; false (and nothing stored) when it is larger than the whole cache. */
  set(k: K, v: V): boolean {
    if (v.length > this.bytesMax) return false;
    const old = this.#map.get(k);
    if (old) {
      this.#bytes -= old.length;
      this.#map.delete(k);
      if (old !== v) this.onEvict?.(old, k);
    }
    this.#map.set(k, v);
    this.#bytes += v.length;
    for (const [key, val] of this.#map) {
      if (this.#bytes <= this.bytesMax) break;
      this.#map.delete(key);
      this.#bytes -= val.length;
      this.onEvict?.(val, key);
    }
    return true;
  }

  delete(k: K): void {
    const v = this.#map.get(k);
    if (v) {
      this.#bytes -= v.length;
      this.#map.delete(k);
      this.onEvict?.(v, k);
    }
  }

  clear(): void {
    const entries = [...this.#map];
    this.#map.clear();
    this.#bytes = 0;
    for (const [k, v] of entries) this.onEvict?.(v, k);
  }

  get bytes(): number {
    return this.#bytes;
  }
}
