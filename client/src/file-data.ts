/**
 * The data of one open file in this client: its committed block map, dirty blocks written but
 * not yet committed (write-back, bounded), and background uploads of blocks that are complete.
 * Every handle of the same inode shares one FileData, so reads see this client's own writes.
 *
 * Durability contract: `flush()` returns after every dirty block is sealed, durable on the
 * chunk server, and the composition mutation naming them is committed in the log (I-L5, I-L2).
 */
import { invariant, KisekiError, Mutex } from '@kiseki/proto';

/** Write-back bound per file: a write that finds this many dirty bytes waits (backpressure). */
export const DIRTY_BYTES_PER_FILE_MAX = 64 * 1024 * 1024;
/** From here on, complete blocks whose uploads finished are committed in the background, while
 * writes go on: a sequential writer rarely meets the hard bound above. */
export const DIRTY_BYTES_COMMIT_EARLY = 24 * 1024 * 1024;
/** Uploads started by one file and not yet finished; a write that would start more waits for
 * the oldest (backpressure on the chunk server instead of on memory). */
export const UPLOADS_AHEAD_MAX = 12;
export const READAHEAD_BLOCKS = 8;

export interface BlockEntry {
  readonly chunk: string; // hex id
  readonly len: number;
}

/** What FileData needs from the client: sealing, chunk I/O and the commit call. */
export interface FileIo {
  readonly blockSize: number;
  /** Seals the plaintext synchronously (before returning), then stores it durably; resolves
   * with its chunk id (hex). Bounds its own concurrency. */
  putBlock(plaintext: Buffer): Promise<string>;
  /** Fetches and opens a block's chunk (cached) and calls `use` with the plaintext, which it
   * must copy before returning (the buffer is recycled). */
  readBlock(chunk: string, len: number, use: (pt: Buffer) => void): Promise<void>;
  /** Fetches [from, to] of the committed block map and the current size. */
  loadBlocks(ino: number): Promise<{ size: number; blocks: Map<number, BlockEntry> }>;
  /** Commits size and changed blocks (chunk '' = hole). */
  commit(
    ino: number,
    size: number,
    blocks: Array<{ index: number; chunk: string; len: number }>,
    mtimeMs: number,
  ): Promise<void>;
  /** A block-sized buffer with arbitrary contents. */
  allocBlock(): Buffer;
  freeBlock(b: Buffer): void;
  prefetch(chunk: string, len: number): void;
  /** A sequential reader has read past this block: its cache slot may be reused now. */
  evict(chunk: string): void;
}

interface Dirty {
  buf: Buffer;
  version: number;
  /** Background upload of this version, if one was started. */
  upload?: { version: number; len: number; promise: Promise<string>; failed?: boolean };
}

export class FileData {
  refs = 0;
  size = 0;
  mtimeMs: number | undefined;
  readonly #io: FileIo;
  readonly #dirty = new Map<number, Dirty>();
  #committed = new Map<number, BlockEntry>();
  #committedSize = 0;
  readonly #mutex = new Mutex();
  #lastReadEnd = -1;
  /** Bumped by every change; the state is clean when the committed generation catches up. */
  #gen = 0;
  #committedGen = 0;
  #error: Error | undefined;
  /** Uploads started by writes and not yet settled, oldest first. */
  readonly #uploadsAhead: Promise<unknown>[] = [];
  /** The background commit of complete blocks, while one runs. */
  #early: Promise<void> | undefined;

  private constructor(
    readonly ino: number,
    io: FileIo,
  ) {
    this.#io = io;
  }

  /** Opens with the committed state, or `empty` when the caller knows the file has no data
   * (it was just created): that saves a round trip per create. */
  static async open(ino: number, io: FileIo, empty = false): Promise<FileData> {
    const f = new FileData(ino, io);
    if (empty) return f;
    const { size, blocks } = await io.loadBlocks(ino);
    f.size = f.#committedSize = size;
    f.#committed = blocks;
    return f;
  }

  get dirtyBytes(): number {
    return this.#dirty.size * this.#io.blockSize;
  }

  get isDirty(): boolean {
    return this.#dirty.size > 0 || this.#gen !== this.#committedGen;
  }

  // ---- reads --------------------------------------------------------------------------

  async read(offset: number, length: number): Promise<Buffer> {
    const out = Buffer.allocUnsafe(Math.max(0, Math.min(this.size - offset, length)));
    const n = await this.readInto(offset, out);
    return out.subarray(0, n);
  }

  /** Reads up to `out.length` bytes at `offset` into `out` (holes as zeros); returns the count. */
  async readInto(offset: number, out: Buffer): Promise<number> {
    if (offset >= this.size || out.length === 0) return 0;
    const end = Math.min(this.size, offset + out.length);
    const bs = this.#io.blockSize;
    const first = Math.floor(offset / bs);
    const last = Math.floor((end - 1) / bs);
    // Sequential reader: ask for the next blocks before waiting for this one.
    const streaming = offset === this.#lastReadEnd || offset === 0;
    if (streaming) {
      for (let i = last + 1; i <= last + READAHEAD_BLOCKS; i++) {
        const c = this.#committed.get(i);
        if (c && !this.#dirty.has(i)) this.#io.prefetch(c.chunk, c.len);
      }
    }
    this.#lastReadEnd = end;
    out.fill(0, 0, end - offset);
    const parts: Promise<void>[] = [];
    for (let i = first; i <= last; i++) {
      const bStart = i * bs;
      const from = Math.max(offset, bStart) - bStart;
      const to = Math.min(end, bStart + bs) - bStart;
      const dst = Math.max(offset, bStart) - offset;
      const d = this.#dirty.get(i);
      if (d) {
        d.buf.copy(out, dst, from, to);
        continue;
      }
      const c = this.#committed.get(i);
      if (!c || from >= c.len) continue; // hole, or past the block's data: zeros
      parts.push(
        this.#io.readBlock(c.chunk, c.len, (pt) => {
          pt.copy(out, dst, from, Math.min(to, c.len));
          // Streamed past its end: don't let it push useful blocks out of the cache (and its
          // buffer is recycled at once instead of fresh memory being touched for the next one).
          if (streaming && to >= c.len) this.#io.evict(c.chunk);
        }),
      );
    }
    await Promise.all(parts);
    return end - offset;
  }

  // ---- writes -------------------------------------------------------------------------

  /** Writes `data` at `offset` into the write-back buffer; returns bytes written. */
  async write(offset: number, data: Uint8Array): Promise<number> {
    this.#throwIfFailed();
    if (data.length === 0) return 0;
    const bs = this.#io.blockSize;
    const end = offset + data.length;
    for (let pos = offset; pos < end; ) {
      const i = Math.floor(pos / bs);
      const bStart = i * bs;
      const n = Math.min(end, bStart + bs) - pos;
      const whole = pos === bStart && n === bs;
      let d = this.#dirty.get(i);
      if (!d) d = await this.#makeDirty(i, !whole);
      Buffer.from(data.buffer, data.byteOffset + (pos - offset), n).copy(d.buf, pos - bStart);
      d.version++;
      pos += n;
      if (pos > this.size) this.size = pos;
      // A block written up to its end is usually final: seal and upload it in the background.
      if (pos === bStart + bs) {
        this.#startUpload(i, d);
        this.#uploadsAhead.push(d.upload!.promise.catch(() => {}));
      }
    }
    this.mtimeMs = Date.now();
    this.#gen++;
    while (this.#uploadsAhead.length > UPLOADS_AHEAD_MAX) await this.#uploadsAhead.shift();
    if (this.dirtyBytes >= DIRTY_BYTES_COMMIT_EARLY) {
      this.#early ??= this.#mutex
        .run(() => this.#commitComplete())
        .catch(() => {}) // the blocks stay dirty; the next flush retries and reports
        .finally(() => {
          this.#early = undefined;
        });
      if (this.dirtyBytes >= DIRTY_BYTES_PER_FILE_MAX) await this.#early;
      // Still over: only partial blocks are dirty (small scattered writes). Commit them all.
      if (this.dirtyBytes >= DIRTY_BYTES_PER_FILE_MAX) await this.flush();
    }
    return data.length;
  }

  /** `partial`: the write covers only part of the block, so the rest must read as before. */
  async #makeDirty(i: number, partial: boolean): Promise<Dirty> {
    const buf = this.#io.allocBlock();
    // A whole-block write overwrites every byte: no need to zero (1 MiB memset per block).
    if (partial) buf.fill(0);
    const needOld = partial;
    const c = this.#committed.get(i);
    if (needOld && c && i * this.#io.blockSize < this.#committedSize) {
      await this.#io.readBlock(c.chunk, c.len, (pt) => pt.copy(buf, 0, 0, c.len));
    }
    // Another write may have made it dirty while we waited for the old contents.
    const existing = this.#dirty.get(i);
    if (existing) {
      this.#io.freeBlock(buf);
      return existing;
    }
    const d: Dirty = { buf, version: 0 };
    this.#dirty.set(i, d);
    return d;
  }

  #startUpload(i: number, d: Dirty): void {
    const version = d.version;
    const len = Math.min(this.#io.blockSize, this.size - i * this.#io.blockSize);
    invariant(len > 0, 'uploaded blocks lie inside the file');
    // putBlock seals (copies) the bytes before it returns, so later writes can't tear the block.
    const promise = this.#io.putBlock(d.buf.subarray(0, len));
    const upload: NonNullable<Dirty['upload']> = { version, len, promise };
    // Awaited (and reported) by flush; a failed upload is started again by the next flush.
    promise.catch(() => {
      upload.failed = true;
    });
    d.upload = upload;
  }

  /** Changes the size; blocks past the end are dropped, a partial last block is trimmed. */
  truncate(size: number): Promise<void> {
    return this.#mutex.run(async () => {
      this.#throwIfFailed();
      if (!Number.isSafeInteger(size) || size < 0) throw new KisekiError('KISEKI_E_INVAL', 'invalid size');
      const bs = this.#io.blockSize;
      const nblocks = Math.ceil(size / bs);
      for (const [i, d] of this.#dirty) {
        if (i >= nblocks) {
          this.#dirty.delete(i);
          this.#io.freeBlock(d.buf);
        }
      }
      if (size < this.size && size % bs !== 0) {
        // Zero the tail of the new last block so a later extension reads zeros.
        const i = nblocks - 1;
        const d = this.#dirty.get(i) ?? (await this.#makeDirty(i, true));
        d.buf.fill(0, size - i * bs);
        d.version++;
        d.upload = undefined;
      }
      this.size = size;
      this.mtimeMs = Date.now();
      this.#gen++;
      await this.#flushLocked();
    });
  }

  /** Commits everything written so far (see the durability contract above). */
  flush(): Promise<void> {
    return this.#mutex.run(() => this.#flushLocked());
  }

  async #flushLocked(): Promise<void> {
    this.#throwIfFailed();
    if (!this.isDirty) return;
    const bs = this.#io.blockSize;
    const gen = this.#gen;
    const size = this.size;
    const entries = [...this.#dirty.entries()].filter(([i]) => i * bs < size);
    for (const [i, d] of entries)
      if (!d.upload || d.upload.version !== d.version || d.upload.failed) this.#startUpload(i, d);
    await this.#commitBlocks(entries, size);
    for (const i of [...this.#committed.keys()]) if (i * bs >= size) this.#committed.delete(i);
    if (this.#gen === gen) {
      this.#committedGen = gen;
      this.mtimeMs = undefined;
    }
  }

  /**
   * Commits the complete blocks whose current version is uploaded (or uploading), leaving partial
   * blocks dirty; the size committed covers just those blocks, so the committed file is some
   * earlier state of this one plus some of the writes since (as after a crash without fsync).
   */
  async #commitComplete(): Promise<void> {
    this.#throwIfFailed();
    const bs = this.#io.blockSize;
    const ready = [...this.#dirty.entries()].filter(
      ([i, d]) => d.upload && d.upload.version === d.version && d.upload.len === bs && i * bs < this.size,
    );
    if (ready.length === 0) return;
    let size = this.#committedSize;
    for (const [i] of ready) size = Math.max(size, (i + 1) * bs);
    await this.#commitBlocks(ready, Math.min(size, this.size));
  }

  /** Waits for the blocks' uploads, then commits them with `size` (see the durability contract). */
  async #commitBlocks(entries: Array<[number, Dirty]>, size: number): Promise<void> {
    const bs = this.#io.blockSize;
    const mtimeMs = this.mtimeMs ?? Date.now();
    const blocks: Array<{ index: number; chunk: string; len: number; d: Dirty; version: number }> = [];
    // Wait for every upload before committing: a composition names only durable chunks (I-L5).
    // On failure the data stays dirty in memory and a later flush retries.
    for (const [i, d] of entries) {
      const up = d.upload!;
      blocks.push({
        index: i,
        chunk: await up.promise,
        len: Math.min(up.len, size - i * bs),
        d,
        version: up.version,
      });
    }
    await this.#io.commit(this.ino, size, blocks, mtimeMs);
    this.#committedSize = size;
    for (const b of blocks) {
      this.#committed.set(b.index, { chunk: b.chunk, len: b.len });
      // Rewritten while we committed: stays dirty for the next flush.
      if (b.d.version === b.version && this.#dirty.get(b.index) === b.d) {
        this.#dirty.delete(b.index);
        this.#io.freeBlock(b.d.buf);
      }
    }
  }

  /** Drops all cached state; the FileData is unusable afterwards. */
  discard(): void {
    for (const d of this.#dirty.values()) this.#io.freeBlock(d.buf);
    this.#dirty.clear();
    this.#error = new KisekiError('KISEKI_E_BADF', 'file was closed');
  }

  #throwIfFailed(): void {
    if (this.#error) throw this.#error;
  }
}
