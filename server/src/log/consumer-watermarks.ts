/**
 * Consumer watermarks of one shard log, persisted so that compaction after a restart still
 * honours every consumer (I-L4). A watermark W means "this consumer has durably processed every
 * delta ≤ W"; compaction may drop deltas ≤ the minimum over all consumers.
 *
 * File format v1 (`consumers.json`, replaced atomically: temp file + fdatasync + rename + dir
 * fsync), UTF-8 JSON with a trailing newline:
 *
 *   {"format":"kiseki-log-consumers","version":1,"consumers":{"<name>":<watermark>,...}}
 *
 * `name` matches CONSUMER_NAME_RE; `watermark` is a non-negative safe integer. Any other content
 * is KISEKI_E_CORRUPT at load.
 */

import { readFile, unlink } from 'node:fs/promises';
import { KisekiError } from '@kiseki/proto';
import { writeFileAtomic } from './durable-fs.ts';

export const CONSUMERS_FILE_NAME = 'consumers.json';
export const CONSUMERS_FORMAT = 'kiseki-log-consumers';
export const CONSUMERS_VERSION = 1;
export const CONSUMER_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export function encodeConsumers(consumers: ReadonlyMap<string, number>): Buffer {
  const obj: Record<string, number> = {};
  for (const [k, v] of [...consumers].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) obj[k] = v;
  const doc = { format: CONSUMERS_FORMAT, version: CONSUMERS_VERSION, consumers: obj };
  return Buffer.from(`${JSON.stringify(doc)}\n`, 'utf8');
}

export function decodeConsumers(bytes: Uint8Array, path: string): Map<string, number> {
  const bad = (why: string): KisekiError =>
    new KisekiError(
      'KISEKI_E_CORRUPT',
      `consumer watermark file ${path} is damaged (${why}); restore it or delete it and re-register every consumer before compacting`,
    );
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw bad('not JSON');
  }
  if (typeof doc !== 'object' || doc === null) throw bad('not an object');
  const d = doc as { format?: unknown; version?: unknown; consumers?: unknown };
  if (d.format !== CONSUMERS_FORMAT) throw bad('wrong format tag');
  if (d.version !== CONSUMERS_VERSION) throw bad(`unsupported version ${String(d.version)}`);
  if (typeof d.consumers !== 'object' || d.consumers === null || Array.isArray(d.consumers)) {
    throw bad('consumers is not an object');
  }
  const out = new Map<string, number>();
  for (const [k, v] of Object.entries(d.consumers)) {
    if (!CONSUMER_NAME_RE.test(k)) throw bad(`bad consumer name ${JSON.stringify(k)}`);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(`bad watermark for ${k}`);
    out.set(k, v);
  }
  return out;
}

/**
 * In-memory watermarks plus their persisted copy. Updates apply in memory at once; `persist`
 * resolves when a write started after the call is durable (concurrent calls share one write).
 */
export class ConsumerWatermarks {
  readonly path: string;
  readonly #memory: Map<string, number>;
  #durable: Map<string, number>;
  #persistWaiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  #writing: Promise<void> | undefined;

  private constructor(path: string, loaded: Map<string, number>) {
    this.path = path;
    this.#memory = new Map(loaded);
    this.#durable = new Map(loaded);
  }

  /** Load `path` (missing file = no consumers); a stale `path.tmp` from a crash is removed. */
  static async load(path: string): Promise<ConsumerWatermarks> {
    await unlink(`${path}.tmp`).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new ConsumerWatermarks(path, new Map());
      throw err;
    }
    return new ConsumerWatermarks(path, decodeConsumers(bytes, path));
  }

  get size(): number {
    return this.#memory.size;
  }

  get(name: string): number | undefined {
    return this.#memory.get(name);
  }

  /** Current (in-memory) watermarks. */
  entries(): [string, number][] {
    return [...this.#memory];
  }

  set(name: string, watermark: number): void {
    this.#memory.set(name, watermark);
  }

  /**
   * The compaction bound: the lowest watermark in memory or on disk (a registration not yet
   * durable and an advance not yet durable both count at their safer value). Undefined when no
   * consumer exists: then nothing may be compacted.
   */
  min(): number | undefined {
    let m: number | undefined;
    for (const v of this.#memory.values()) m = m === undefined || v < m ? v : m;
    for (const v of this.#durable.values()) m = m === undefined || v < m ? v : m;
    return m;
  }

  /** Make the current in-memory state durable. */
  persist(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#persistWaiters.push({ resolve, reject });
      this.#writing ??= this.#run();
    });
  }

  /** Resolves when no write is in flight (without starting one). */
  async settled(): Promise<void> {
    while (this.#writing !== undefined) await this.#writing;
  }

  async #run(): Promise<void> {
    await Promise.resolve(); // let calls in this tick join the first write
    while (this.#persistWaiters.length > 0) {
      const waiters = this.#persistWaiters.splice(0);
      const snapshot = new Map(this.#memory);
      try {
        await writeFileAtomic(this.path, encodeConsumers(snapshot));
        this.#durable = snapshot;
        for (const w of waiters) w.resolve();
      } catch (err) {
        for (const w of waiters) w.reject(err);
      }
    }
    this.#writing = undefined;
  }
}
