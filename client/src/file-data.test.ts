import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type BlockEntry, DIRTY_BYTES_COMMIT_EARLY, FileData, type FileIo } from './file-data.ts';

const BS = 64 * 1024;

/**
 * An in-memory chunk store and composition behind FileIo: content-addressed chunks, a commit log,
 * and a put latency, so the write-back logic runs for real without a server.
 */
function memoryIo(putDelayMs = 0) {
  const chunks = new Map<string, Buffer>();
  const durable = new Set<string>();
  const commits: Array<{ size: number; blocks: Array<{ index: number; chunk: string; len: number }> }> = [];
  let size = 0;
  const map = new Map<number, BlockEntry>();
  const io: FileIo = {
    blockSize: BS,
    putBlock(pt) {
      const copy = Buffer.from(pt);
      const id = createHash('sha256').update(copy).digest('hex');
      chunks.set(id, copy);
      return new Promise((resolve) =>
        setTimeout(() => {
          durable.add(id);
          resolve(id);
        }, putDelayMs),
      );
    },
    async readBlock(chunk, len, use) {
      const b = chunks.get(chunk);
      if (!b || b.length < len) throw new Error('missing chunk');
      use(b.subarray(0, len));
    },
    async loadBlocks() {
      return { size, blocks: new Map(map) };
    },
    async commit(_ino, newSize, blocks) {
      // I-L5: a composition names only chunks that are already durable.
      for (const b of blocks) if (b.chunk) expect(durable.has(b.chunk)).toBe(true);
      commits.push({ size: newSize, blocks: blocks.map((b) => ({ ...b })) });
      size = newSize;
      for (const i of [...map.keys()]) if (i * BS >= newSize) map.delete(i);
      for (const b of blocks) map.set(b.index, { chunk: b.chunk, len: b.len });
    },
    allocBlock: () => Buffer.allocUnsafe(BS).fill(0xee), // garbage, as from a pool
    freeBlock: () => {},
    prefetch: () => {},
    evict: () => {},
  };
  const committedBytes = () => {
    const out = Buffer.alloc(size);
    for (const [i, b] of map) chunks.get(b.chunk)!.copy(out, i * BS, 0, b.len);
    return out;
  };
  return { io, commits, committedBytes };
}

function pattern(bytes: number, seed: number): Buffer {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

describe('FileData write-back', () => {
  it('I-L5: a long sequential write commits complete blocks in the background and ends identical', async () => {
    const { io, commits, committedBytes } = memoryIo(1);
    const f = await FileData.open(1, io, true);
    const total = DIRTY_BYTES_COMMIT_EARLY * 1.5 + 3 * BS + 1000; // many blocks and a partial tail
    const data = pattern(total, 7);
    const piece = 48 * 1024; // not block aligned: blocks complete inside a write
    for (let off = 0; off < total; off += piece) await f.write(off, data.subarray(off, off + piece));
    // Early commits happened while writing, and never named the partial newest block.
    expect(commits.length).toBeGreaterThan(0);
    for (const c of commits) for (const b of c.blocks) expect(b.len).toBe(BS);
    await f.flush();
    expect(f.isDirty).toBe(false);
    expect(committedBytes().equals(data)).toBe(true);
    const back = Buffer.alloc(total);
    expect(await f.readInto(0, back)).toBe(total);
    expect(back.equals(data)).toBe(true);
  });

  it('partial writes into new blocks read zeros around them (pooled buffers hold garbage)', async () => {
    const { io, committedBytes } = memoryIo();
    const f = await FileData.open(1, io, true);
    await f.write(BS + 10, Buffer.from('hello'));
    await f.write(3 * BS, pattern(BS, 1)); // a whole block
    const want = Buffer.alloc(4 * BS);
    Buffer.from('hello').copy(want, BS + 10);
    pattern(BS, 1).copy(want, 3 * BS);
    expect((await f.read(0, 4 * BS)).equals(want)).toBe(true);
    await f.flush();
    expect(committedBytes().equals(want)).toBe(true);
  });

  it('I-L5: failed uploads are retried by flush; one that fails again fails the flush and commits nothing', async () => {
    const { io, commits, committedBytes } = memoryIo();
    // Puts in order: block 0 (background), block 1 (background), block 0 again (first flush),
    // block 0 again (second flush). The first and the third fail.
    let calls = 0;
    const put = io.putBlock;
    io.putBlock = (pt) => {
      calls++;
      if (calls !== 1 && calls !== 3) return put(pt);
      return Promise.reject(new Error('chunk server unreachable'));
    };
    const f = await FileData.open(1, io, true);
    const data = pattern(2 * BS, 3);
    await f.write(0, data);
    await expect(f.flush()).rejects.toThrow(/unreachable/);
    expect(commits.length).toBe(0);
    await f.flush();
    expect(calls).toBe(4);
    expect(committedBytes().equals(data)).toBe(true);
  });

  it('a rewrite of a block while its upload runs is committed with the newer bytes', async () => {
    const { io, committedBytes } = memoryIo(5);
    const f = await FileData.open(1, io, true);
    await f.write(0, pattern(BS, 1)); // complete: upload starts
    await f.write(100, Buffer.from('newer')); // rewrite during the upload
    await f.flush();
    const want = pattern(BS, 1);
    Buffer.from('newer').copy(want, 100);
    expect(committedBytes().equals(want)).toBe(true);
  });
});
