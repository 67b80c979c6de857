/**
 * Chunk I/O off the main thread: a small pool of worker threads (chunk-worker.ts) that each
 * seal + upload and download + open chunks over their own HTTP connections, and the decrypted
 * block cache (L1) on this side. Why: sealing (chunk-id HMAC + AES-GCM) and the HTTP client's
 * buffer churn cost more CPU than anything else on the client, all on the one JS thread; in
 * workers they overlap each other and the caller's work, and each isolate collects its own
 * garbage. Measurements: docs/decisions/0006-chunk-workers.md.
 *
 * Memory: block-sized ArrayBuffers ("slabs") are pooled and *transferred* (not copied) to a
 * worker with each request and back with its reply: a put's plaintext copy, a get's plaintext.
 * Decrypted blocks in the L1 are slabs; an evicted one goes back to the pool. So a steady stream
 * allocates no fresh 1 MiB buffers on this thread.
 *
 * A slab in the L1 can be reused once it is evicted, so `read` hands a block to a callback that
 * must copy what it needs before returning; a block is never returned to the caller.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type ErrorCode, invariant, isErrorCode, KisekiError } from '@kiseki/proto';
import type { FromWorker, ToWorker } from './chunk-worker.ts';
import { type ChunkKeyMaterial, wipeMaterial } from './crypto/chunk-keys.ts';
import { ByteLru } from './lru.ts';
import { Semaphore } from './semaphore.ts';

/** Worker threads: one per core, at most 2 (more gave nothing on 2 cores; see the ADR). */
export const CHUNK_WORKERS_DEFAULT = Math.max(1, Math.min(2, availableParallelism()));
export const CHUNK_WORKERS_MAX = 16;
export const PUTS_INFLIGHT_MAX = 8;
export const GETS_INFLIGHT_MAX = 8;
/** HTTP connections per worker (each carries one request at a time). */
export const CHUNK_CONNECTIONS_PER_WORKER = 8;
/** Pooled envelope buffers per worker. */
export const ENVELOPES_POOLED_PER_WORKER = 8;
/** Free slabs kept for reuse beyond those in the L1 (bytes = this × block size). */
export const SLABS_POOLED_MAX = 32;
/** Reads retried when the block was evicted between its fetch and its use (cache thrashing). */
const READ_ATTEMPTS_MAX = 4;

/** The L2 cache as ChunkIo uses it: sealed envelopes by chunk id (cache/l2.ts). */
export interface EnvelopeCache {
  get(hex: string): Promise<Buffer | undefined>;
  /** Stores an envelope that opened; `pin` for staged data. */
  put(hex: string, envelope: Buffer, pin: boolean): Promise<unknown>;
  /** Forgets a damaged copy. */
  drop(hex: string): Promise<unknown>;
}

export interface ChunkIoOptions {
  readonly baseUrl: string;
  readonly tenant: string;
  readonly blockSize: number;
  /** Decrypted-block cache bound (bytes). */
  readonly cacheBytes: number;
  /** Worker threads (default CHUNK_WORKERS_DEFAULT, or KISEKI_CHUNK_WORKERS from the environment). */
  readonly workers?: number;
  /** The current session token, and a way to get a new one after a 401. */
  token(): string;
  refresh(): Promise<string>;
  /** The L2 cache, if any: read before the chunk server, filled with what the server sent. */
  readonly l2?: EnvelopeCache;
  /** Counters shared with the client (tests, `kiseki cache stats`). */
  readonly stats: { chunkGets: number; chunkPuts: number; cacheHits: number; l2Hits: number };
}

/** A worker died with the request (our bug, or the thread was killed): a read may try again. */
class WorkerLostError extends KisekiError {}

interface Reply {
  readonly buf: ArrayBuffer;
  readonly hex: string;
  readonly env?: ArrayBuffer;
}

interface Pending {
  readonly slot: Slot;
  resolve(r: Reply): void;
  reject(err: unknown): void;
}

interface Slot {
  readonly worker: Worker;
  inflight: number;
  dead: boolean;
}

/** Options a worker accepts (V8 flags such as --single-threaded-gc are process-wide anyway and
 * a worker refuses them). */
const WORKER_FLAGS_WITH_VALUE = new Set([
  '--import',
  '--loader',
  '--experimental-loader',
  '--conditions',
  '-C',
]);
const WORKER_FLAGS = /^(--enable-source-maps|--cpu-prof.*|--no-warnings)$/;

/** This thread's options that a worker accepts (source maps, profiling). */
function workerExecArgv(): string[] {
  const argv: string[] = [];
  const src = process.execArgv;
  for (let i = 0; i < src.length; i++) {
    const a = src[i]!;
    if (WORKER_FLAGS_WITH_VALUE.has(a) && i + 1 < src.length) i++;
    else if (WORKER_FLAGS.test(a)) argv.push(a);
  }
  return argv;
}

/**
 * The worker's entry. This package ships TypeScript sources and tsx registers its loader only on
 * the main thread, so a small ESM bootstrap (a data: URL) loads the .ts entry with tsx's tsImport.
 */
function workerEntry(): URL {
  const entry = new URL('./chunk-worker.ts', import.meta.url);
  const api = createRequire(import.meta.url)
    .resolve('tsx/esm/api')
    .replace(/\.cjs$/, '.mjs');
  const boot =
    `import { tsImport } from ${JSON.stringify(pathToFileURL(api).href)};\n` +
    `await tsImport(${JSON.stringify(entry.href)}, ${JSON.stringify(import.meta.url)});\n`;
  return new URL(`data:text/javascript,${encodeURIComponent(boot)}`);
}

export class ChunkIo {
  readonly #opts: ChunkIoOptions;
  readonly #workersWanted: number;
  readonly #slots: Slot[] = [];
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  readonly #slabs: ArrayBuffer[] = [];
  readonly #l1: ByteLru<string, Buffer>;
  readonly #fetching = new Map<string, Promise<{ buf: Buffer; cached: boolean }>>();
  readonly #puts = new Semaphore(PUTS_INFLIGHT_MAX);
  readonly #gets = new Semaphore(GETS_INFLIGHT_MAX);
  /** A copy of the keys, for workers started later; wiped by forgetKeys/close. */
  #keys: ChunkKeyMaterial | undefined;
  #closed = false;

  constructor(opts: ChunkIoOptions) {
    this.#opts = opts;
    const env = Number(process.env.KISEKI_CHUNK_WORKERS);
    const n = opts.workers ?? (Number.isSafeInteger(env) && env > 0 ? env : CHUNK_WORKERS_DEFAULT);
    if (!Number.isSafeInteger(n) || n < 1 || n > CHUNK_WORKERS_MAX)
      throw new KisekiError('KISEKI_E_INVAL', `chunk workers must be 1..${CHUNK_WORKERS_MAX}, got ${n}`);
    this.#workersWanted = n;
    this.#l1 = new ByteLru(opts.cacheBytes, (b) => this.#giveSlab(b));
  }

  get cacheBytes(): number {
    return this.#l1.bytes;
  }

  /** Starts the workers now (each loads its code, ~0.3 CPU-s) rather than on the first chunk. */
  warm(): void {
    if (this.#closed) return;
    for (let i = this.#slots.filter((s) => !s.dead).length; i < this.#workersWanted; i++) this.#spawn();
  }

  /** Hands the tenant's chunk keys to every worker (now and later ones); call on each refresh. */
  setKeys(material: ChunkKeyMaterial): void {
    if (this.#keys) wipeMaterial(this.#keys);
    this.#keys = material;
    for (const s of this.#slots) if (!s.dead) this.#post(s, { t: 'keys', material });
  }

  // ---- writes -----------------------------------------------------------------------------

  /**
   * Seals `pt` (chunk id by the dedup policy, AES-256-GCM) and stores it durably on the chunk
   * server; resolves with the chunk id (hex). The bytes are copied before this returns, so the
   * caller may change `pt` at once.
   */
  put(pt: Uint8Array): Promise<string> {
    this.#checkOpen();
    const slab = this.#takeSlab(pt.length);
    new Uint8Array(slab, 0, pt.length).set(pt);
    return this.#puts.run(async () => {
      this.#opts.stats.chunkPuts++;
      const r = await this.#call({ t: 'put', id: 0, token: '', buf: slab, len: pt.length }, slab);
      this.#giveSlab(Buffer.from(r.buf));
      return r.hex;
    });
  }

  // ---- reads ------------------------------------------------------------------------------

  /**
   * Fetches (or finds in the L1) the chunk `hex` of `len` plaintext bytes, opens it, and calls
   * `use` with the plaintext. `use` must copy what it needs before returning: the buffer is
   * recycled once it leaves the cache.
   */
  async read(hex: string, len: number, use: (pt: Buffer) => void): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const hit = this.#l1.get(hex);
      if (hit) {
        this.#opts.stats.cacheHits++;
        use(hit);
        return;
      }
      const r = await this.#fetch(hex, len);
      // A cached buffer evicted meanwhile may already hold another block: fetch again.
      if (!r.cached || this.#l1.peek(hex) === r.buf) {
        use(r.buf);
        return;
      }
      if (attempt >= READ_ATTEMPTS_MAX)
        throw new KisekiError(
          'KISEKI_E_BUSY',
          'block cache too small for the reads in flight; raise cacheBytes',
        );
    }
  }

  /** Drops a block from the L1 (its buffer goes back to the pool). */
  evict(hex: string): void {
    this.#l1.delete(hex);
  }

  /** Starts fetching a block into the L1 unless it is there or on its way. */
  prefetch(hex: string, len: number): void {
    if (this.#closed || this.#l1.peek(hex) || this.#fetching.has(hex)) return;
    this.#fetch(hex, len).catch(() => {});
  }

  #fetch(hex: string, len: number): Promise<{ buf: Buffer; cached: boolean }> {
    let p = this.#fetching.get(hex);
    if (p) return p;
    this.#checkOpen();
    p = this.#gets
      .run(async () => {
        const buf = Buffer.from(await this.#load(hex, len, false), 0, len);
        // Not cached (bigger than the cache): never recycled, so safe for every waiter.
        return { buf, cached: this.#l1.set(hex, buf) };
      })
      .finally(() => this.#fetching.delete(hex));
    this.#fetching.set(hex, p);
    return p;
  }

  /**
   * Brings a chunk into the L2 as pinned (staging): from the L2 itself when it holds a sound copy,
   * else from the chunk server. Not kept in the L1.
   */
  async stage(hex: string, len: number): Promise<void> {
    this.#checkOpen();
    invariant(this.#opts.l2, 'staging needs an L2 cache');
    await this.#gets.run(async () => this.#giveSlab(Buffer.from(await this.#load(hex, len, true))));
  }

  /** The opened block in a slab: from the L2 when it holds a sound copy, else the chunk server
   * (and then into the L2: only envelopes that opened). */
  async #load(hex: string, len: number, pin: boolean): Promise<ArrayBuffer> {
    const l2 = this.#opts.l2;
    const cached = await l2?.get(hex);
    if (l2 && cached) {
      const slab = this.#takeSlab(len);
      try {
        // The envelope is copied to the worker (not transferred): a pinned re-put still needs it.
        const r = await this.#call({ t: 'open', id: 0, token: '', hex, len, buf: slab, env: cached }, slab);
        this.#opts.stats.l2Hits++;
        if (pin) await l2.put(hex, cached, true);
        return r.buf;
      } catch (err) {
        if (!(err instanceof KisekiError) || !['KISEKI_E_CRYPTO', 'KISEKI_E_CORRUPT'].includes(err.code))
          throw err;
        await l2.drop(hex); // torn or damaged on local disk: fetch a good copy
      }
    }
    this.#opts.stats.chunkGets++;
    let r: Reply;
    for (let attempt = 1; ; attempt++) {
      const slab = this.#takeSlab(len);
      try {
        r = await this.#call({ t: 'get', id: 0, token: '', hex, len, buf: slab, wantEnvelope: !!l2 }, slab);
        break;
      } catch (err) {
        // Reads are idempotent: once more on a fresh worker (the next #pick starts one).
        if (!(err instanceof WorkerLostError) || attempt >= 2 || this.#closed) throw err;
      }
    }
    if (l2 && r.env) {
      const fill = l2.put(hex, Buffer.from(r.env), pin);
      // Staging must say when the cache can't hold the data; an organic fill is best effort.
      await (pin ? fill : fill.catch(() => false));
    }
    return r.buf;
  }

  // ---- workers ------------------------------------------------------------------------------

  #call(msg: Extract<ToWorker, { t: 'put' | 'get' | 'open' }>, transfer: ArrayBuffer): Promise<Reply> {
    const slot = this.#pick();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { slot, resolve, reject });
      if (slot.inflight++ === 0) slot.worker.ref();
      this.#post(slot, { ...msg, id, token: this.#opts.token() }, [transfer]);
    });
  }

  #post(slot: Slot, msg: ToWorker, transfer: ArrayBuffer[] = []): void {
    slot.worker.postMessage(msg, transfer);
  }

  /** The live worker with the fewest requests in flight; starts workers up to the wanted count. */
  #pick(): Slot {
    for (let i = this.#slots.length - 1; i >= 0; i--) if (this.#slots[i]!.dead) this.#slots.splice(i, 1);
    let best: Slot | undefined;
    for (const s of this.#slots) if (!best || s.inflight < best.inflight) best = s;
    if (!best || (best.inflight > 0 && this.#slots.length < this.#workersWanted)) best = this.#spawn();
    return best;
  }

  #spawn(): Slot {
    const worker = new Worker(workerEntry(), {
      execArgv: workerExecArgv(),
      stdout: false,
      stderr: false,
    });
    worker.unref();
    const slot: Slot = { worker, inflight: 0, dead: false };
    this.#slots.push(slot);
    this.#post(slot, {
      t: 'init',
      baseUrl: this.#opts.baseUrl,
      tenant: this.#opts.tenant,
      connections: CHUNK_CONNECTIONS_PER_WORKER,
      envelopePoolMax: ENVELOPES_POOLED_PER_WORKER,
    });
    if (this.#keys) this.#post(slot, { t: 'keys', material: this.#keys });
    worker.on('message', (m: FromWorker) => this.#onMessage(slot, m));
    const lost = (why: string) => {
      if (slot.dead) return;
      slot.dead = true;
      const err = new WorkerLostError('KISEKI_E_INTERNAL', `chunk worker stopped: ${why}`);
      for (const [id, p] of this.#pending) {
        if (p.slot !== slot) continue;
        this.#pending.delete(id);
        p.reject(err);
      }
    };
    worker.on('error', (e) => lost(e.message));
    worker.on('exit', (code) => lost(`exit code ${code}`));
    return slot;
  }

  #onMessage(slot: Slot, m: FromWorker): void {
    if (m.t === 'refresh') {
      this.#opts
        .refresh()
        .catch(() => this.#opts.token())
        .then((token) => this.#post(slot, { t: 'token', token }));
      return;
    }
    const p = this.#pending.get(m.id);
    invariant(p && p.slot === slot, 'a chunk worker replies to its own requests');
    this.#pending.delete(m.id);
    if (--slot.inflight === 0) slot.worker.unref();
    if (m.err) {
      this.#giveSlab(Buffer.from(m.buf));
      const code = m.err.code;
      p.reject(new KisekiError(isErrorCode(code) ? (code as ErrorCode) : 'KISEKI_E_INTERNAL', m.err.message));
      return;
    }
    p.resolve({ buf: m.buf, hex: m.hex ?? '', ...(m.env ? { env: m.env } : {}) });
  }

  // ---- slabs -------------------------------------------------------------------------------

  #takeSlab(len: number): ArrayBuffer {
    const bytes = Math.max(len, this.#opts.blockSize);
    if (bytes === this.#opts.blockSize) {
      const s = this.#slabs.pop();
      if (s) return s;
    }
    return new ArrayBuffer(bytes);
  }

  #giveSlab(b: Buffer): void {
    const ab = b.buffer as ArrayBuffer;
    // Only whole, block-sized slabs (a transferred-away buffer has byteLength 0).
    if (ab.byteLength === this.#opts.blockSize && this.#slabs.length < SLABS_POOLED_MAX) this.#slabs.push(ab);
  }

  #checkOpen(): void {
    if (this.#closed) throw new KisekiError('KISEKI_E_UNAVAILABLE', 'client is closed');
  }

  /** Drops every decrypted block this side holds (crypto-shred). */
  clearCache(): void {
    this.#l1.clear();
  }

  /** Drops the keys from every worker and this side (crypto-shred, session end). */
  forgetKeys(): void {
    if (this.#keys) wipeMaterial(this.#keys);
    this.#keys = undefined;
    for (const s of this.#slots) if (!s.dead) this.#post(s, { t: 'forget' });
  }

  /** Stops the workers; requests still in flight fail. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.forgetKeys();
    this.#l1.clear();
    this.#slabs.length = 0;
    const slots = this.#slots.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}
