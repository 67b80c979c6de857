/**
 * The client's L2 cache: sealed chunk envelopes on local disk, bounded in bytes, shared by the
 * processes of one host (a mount and `kiseki stage`). It stores ciphertext exactly as the chunk
 * server sent it, so nothing in it is readable without the tenant's keys: a shred or an
 * abandoned cache leaves nothing decryptable behind (I-K5), and a corrupted or torn file is
 * caught by the envelope's authentication tag when it is opened (the caller then `drop`s it).
 *
 * Layout: `<dir>/<tenant>/{pinned,organic}/<xx>/<64 hex chunk id>`. Staged data is pinned:
 * organic fills never evict it. Recency survives restarts through file mtimes.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KisekiError } from '@kiseki/proto';

export type CacheMode = 'pinned' | 'organic' | 'bypass';
export const CACHE_MODES: readonly CacheMode[] = ['pinned', 'organic', 'bypass'];
type Class = 'pinned' | 'organic';

const ID_RE = /^[0-9a-f]{64}$/;
/** Recency updates on disk at most this often per entry (an mtime write per hit would cost). */
const TOUCH_INTERVAL_MS = 60_000;

interface Entry {
  cls: Class;
  bytes: number;
  usedAtMs: number;
  touchedAtMs: number;
  /** Counted, its file still being written. */
  writing?: boolean;
}

export interface L2Stats {
  readonly dir: string;
  readonly mode: CacheMode;
  readonly capacityBytes: number;
  readonly entries: number;
  readonly bytes: number;
  readonly pinnedBytes: number;
  readonly hits: number;
  readonly misses: number;
  readonly fills: number;
  readonly evictions: number;
  readonly corrupt: number;
}

export interface L2Options {
  /** The cache root; one subdirectory per tenant. */
  readonly dir: string;
  readonly tenant: string;
  readonly capacityBytes: number;
  readonly mode: CacheMode;
}

export class L2Cache {
  readonly dir: string;
  readonly mode: CacheMode;
  readonly capacityBytes: number;
  /** Insertion order is recency order (oldest first), per class. */
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;
  #pinnedBytes = 0;
  #hits = 0;
  #misses = 0;
  #fills = 0;
  #evictions = 0;
  #corrupt = 0;

  private constructor(opts: L2Options) {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(opts.tenant) || opts.tenant.startsWith('.'))
      throw new KisekiError('KISEKI_E_INVAL', `tenant name '${opts.tenant}' can't name a cache directory`);
    if (!Number.isSafeInteger(opts.capacityBytes) || opts.capacityBytes < 0)
      throw new KisekiError('KISEKI_E_INVAL', 'cache capacity must be a non-negative byte count');
    this.dir = join(opts.dir, opts.tenant);
    this.mode = opts.mode;
    this.capacityBytes = opts.capacityBytes;
  }

  /** Opens (creating) a tenant's cache directory and indexes what a previous run left. */
  static open(opts: L2Options): L2Cache {
    const c = new L2Cache(opts);
    if (c.mode === 'bypass') return c;
    const found: Array<[string, Entry]> = [];
    for (const cls of ['pinned', 'organic'] as const) {
      const base = join(c.dir, cls);
      mkdirSync(base, { recursive: true, mode: 0o700 });
      for (const fan of readdirSync(base)) {
        const sub = join(base, fan);
        if (!/^[0-9a-f]{2}$/.test(fan)) continue;
        for (const name of readdirSync(sub)) {
          const p = join(sub, name);
          if (!ID_RE.test(name)) {
            // Left by a write that died before its rename: never valid, never counted.
            if (name.startsWith('.tmp-')) rmSync(p, { force: true });
            continue;
          }
          const st = statSync(p, { throwIfNoEntry: false });
          if (!st?.isFile()) continue;
          found.push([name, { cls, bytes: st.size, usedAtMs: st.mtimeMs, touchedAtMs: st.mtimeMs }]);
        }
      }
    }
    found.sort((a, b) => a[1].usedAtMs - b[1].usedAtMs);
    for (const [id, e] of found) c.#add(id, e);
    c.#evict(0);
    return c;
  }

  #path(id: string, cls: Class): string {
    return join(this.dir, cls, id.slice(0, 2), id);
  }

  #add(id: string, e: Entry): void {
    const old = this.#entries.get(id);
    if (old) this.#forget(id, old);
    this.#entries.set(id, e);
    this.#bytes += e.bytes;
    if (e.cls === 'pinned') this.#pinnedBytes += e.bytes;
  }

  #forget(id: string, e: Entry): void {
    this.#entries.delete(id);
    this.#bytes -= e.bytes;
    if (e.cls === 'pinned') this.#pinnedBytes -= e.bytes;
  }

  /** The sealed envelope of a chunk, if this host has it. */
  async get(id: string): Promise<Buffer | undefined> {
    if (this.mode === 'bypass' || !ID_RE.test(id)) return undefined;
    const known = this.#entries.get(id);
    // Another process (kiseki stage) may have filled it: look on disk even when not indexed.
    for (const cls of known ? [known.cls] : (['pinned', 'organic'] as const)) {
      let bytes: Buffer;
      try {
        bytes = await readFile(this.#path(id, cls));
      } catch {
        continue;
      }
      this.#hits++;
      const now = Date.now();
      const e = known ?? { cls, bytes: bytes.length, usedAtMs: now, touchedAtMs: 0 };
      e.usedAtMs = now;
      this.#add(id, e); // moves it to the young end
      if (now - e.touchedAtMs > TOUCH_INTERVAL_MS) {
        e.touchedAtMs = now;
        utimes(this.#path(id, cls), new Date(now), new Date(now)).catch(() => {});
      }
      return bytes;
    }
    if (known && !known.writing) this.#forget(id, known); // removed behind our back (wipe, another process)
    this.#misses++;
    return undefined;
  }

  /**
   * Keeps a sealed envelope. Organic fills happen only in organic mode and may evict older
   * organic entries; pinned ones (staging) never evict pinned data and fail when it is full.
   */
  async put(id: string, envelope: Uint8Array, pin = false): Promise<boolean> {
    if (this.mode === 'bypass' || !ID_RE.test(id)) return false;
    if (!pin && this.mode !== 'organic') return false;
    const cls: Class = pin ? 'pinned' : 'organic';
    const old = this.#entries.get(id);
    if (old && (old.cls === cls || old.cls === 'pinned')) return true;
    if (pin && this.#pinnedBytes + envelope.length > this.capacityBytes)
      throw new KisekiError(
        'KISEKI_E_NOSPC',
        `the client cache is full of staged data (${this.capacityBytes} bytes): raise cache_bytes or wipe it`,
      );
    if (envelope.length > this.capacityBytes) return false;
    this.#evict(envelope.length);
    // What is still being written can't be evicted yet: when it doesn't fit, skip this fill.
    if (this.#bytes + envelope.length > this.capacityBytes && !pin) return false;
    // Counted before the write so that concurrent fills can't overshoot the bound together.
    const now = Date.now();
    const entry: Entry = { cls, bytes: envelope.length, usedAtMs: now, touchedAtMs: now, writing: true };
    this.#add(id, entry);
    const p = this.#path(id, cls);
    const tmp = join(this.dir, cls, id.slice(0, 2), `.tmp-${randomBytes(6).toString('hex')}`);
    try {
      mkdirSync(join(this.dir, cls, id.slice(0, 2)), { recursive: true, mode: 0o700 });
      await writeFile(tmp, envelope, { mode: 0o600 });
      await rename(tmp, p);
    } catch (err) {
      if (this.#entries.get(id) === entry) this.#forget(id, entry);
      await rm(tmp, { force: true });
      if ((err as NodeJS.ErrnoException).code === 'ENOSPC') return false; // a cache, not storage
      throw err;
    }
    entry.writing = false;
    if (old) await rm(this.#path(id, old.cls), { force: true });
    this.#fills++;
    return true;
  }

  /** Forgets an entry that failed to open (torn or corrupted on disk). */
  async drop(id: string): Promise<void> {
    if (!ID_RE.test(id)) return;
    this.#corrupt++;
    const e = this.#entries.get(id);
    if (e) this.#forget(id, e);
    await Promise.all(['pinned', 'organic'].map((cls) => rm(this.#path(id, cls as Class), { force: true })));
  }

  /** Removes organic entries, oldest first, until `incoming` more bytes fit. */
  #evict(incoming: number): void {
    if (this.#bytes + incoming <= this.capacityBytes) return;
    for (const [id, e] of this.#entries) {
      if (this.#bytes + incoming <= this.capacityBytes) break;
      if (e.cls !== 'organic' || e.writing) continue;
      this.#forget(id, e);
      this.#evictions++;
      rmSync(this.#path(id, e.cls), { force: true });
    }
  }

  stats(): L2Stats {
    return {
      dir: this.dir,
      mode: this.mode,
      capacityBytes: this.capacityBytes,
      entries: this.#entries.size,
      bytes: this.#bytes,
      pinnedBytes: this.#pinnedBytes,
      hits: this.#hits,
      misses: this.#misses,
      fills: this.#fills,
      evictions: this.#evictions,
      corrupt: this.#corrupt,
    };
  }

  /** Empties the tenant's cache (also what a shred does to it). */
  wipe(): void {
    rmSync(this.dir, { recursive: true, force: true });
    this.#entries.clear();
    this.#bytes = 0;
    this.#pinnedBytes = 0;
    if (this.mode !== 'bypass')
      for (const cls of ['pinned', 'organic'])
        mkdirSync(join(this.dir, cls), { recursive: true, mode: 0o700 });
  }
}
