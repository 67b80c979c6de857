import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeviceAllocator, type ExtentRef } from './allocator.ts';
import type { DeviceBackend } from './device.ts';
import { MemoryDevice } from './memory-device.ts';

const BS = 512;
/** 4 MiB of 512-byte blocks: 8 bitmap pages, so extents and commits span pages. */
const DEVICE_BYTES = 4 << 20;

class Crash extends Error {}

/**
 * A device that dies at its `crashAt`-th write or sync (counting from 0): that call and every
 * later one throw, like a process killed there. The MemoryDevice beneath keeps what was synced
 * and what was written but not synced, for crashImage.
 */
class CrashingDevice implements DeviceBackend {
  ops = 0;
  crashed = false;
  constructor(
    readonly inner: MemoryDevice,
    private readonly crashAt: number,
  ) {}
  get deviceUuid() {
    return this.inner.deviceUuid;
  }
  get blockSizeBytes() {
    return this.inner.blockSizeBytes;
  }
  get sizeBytes() {
    return this.inner.sizeBytes;
  }
  get dataStartBytes() {
    return this.inner.dataStartBytes;
  }
  private step(): void {
    if (this.crashed || this.ops++ === this.crashAt) {
      this.crashed = true;
      throw new Crash('crash');
    }
  }
  read(offset: number, length: number) {
    if (this.crashed) throw new Crash('crash');
    return this.inner.read(offset, length);
  }
  async write(offset: number, data: Uint8Array) {
    this.step();
    await this.inner.write(offset, data);
  }
  async writev(offset: number, pieces: readonly Uint8Array[]) {
    this.step();
    await this.inner.writev(offset, pieces);
  }
  async sync() {
    this.step();
    await this.inner.sync();
  }
  async close() {}
}

interface Put {
  kind: 'put';
  bytes: number;
}
interface Free {
  kind: 'free';
  pick: number;
}
type Op = Put | Free;

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('put' as const), bytes: fc.nat(300_000) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }) },
);

function payloadFor(i: number, bytes: number): { payload: Buffer; owner: Buffer } {
  const payload = Buffer.alloc(bytes, i & 0xff);
  if (bytes >= 4) payload.writeUInt32LE(i, 0);
  const owner = Buffer.alloc(16);
  owner.writeUInt32LE(i, 0);
  return { payload, owner };
}

/**
 * Runs `groups` of concurrent operations on a fresh allocator until the device crashes at
 * `crashAt`, then recovers from the crash image (each unsynced block survives or not by
 * `survives`) and checks: a consistent bitmap with the used blocks tiled exactly by extents
 * (no leak, no double allocation), every acknowledged write readable, every acknowledged free
 * gone, in-flight operations either done or not, and new writes never overlapping old ones.
 */
async function crashAndRecover(
  groups: Op[][],
  crashAt: number,
  survives: (block: number) => boolean,
): Promise<void> {
  const base = new MemoryDevice({ sizeBytes: DEVICE_BYTES, blockSizeBytes: BS });
  await DeviceAllocator.format(base);
  const dev = new CrashingDevice(base, crashAt);
  const alloc = (await DeviceAllocator.open(dev)).allocator;
  const acked = new Map<number, { ref: ExtentRef; i: number; bytes: number }>();
  const maybe = new Map<number, { i: number; bytes: number }>(); // in flight at the crash: either outcome
  const freed = new Set<number>();
  let n = 0;
  for (const group of groups) {
    if (dev.crashed) break;
    await Promise.all(
      group.map(async (op) => {
        if (op.kind === 'put') {
          const i = n++;
          const { payload, owner } = payloadFor(i, op.bytes);
          try {
            const ref = await alloc.write(payload, owner);
            acked.set(ref.start, { ref, i, bytes: op.bytes });
          } catch (err) {
            if ((err as { code?: string }).code === 'KISEKI_E_NOSPC') return;
            maybe.set(i, { i, bytes: op.bytes });
          }
        } else {
          const live = [...acked.values()];
          if (live.length === 0) return;
          const victim = live[op.pick % live.length]!;
          acked.delete(victim.ref.start);
          try {
            await alloc.free(victim.ref);
            freed.add(victim.i);
          } catch {
            maybe.set(victim.i, victim);
          }
        }
      }),
    );
  }
  const image = base.crashImage(survives);
  const { allocator: back, report } = await DeviceAllocator.open(image);
  expect(report.leakedBlocks).toBe(0);
  const found = await back.check(); // bitmap invariants + exact tiling
  const byIndex = new Map(found.map((e) => [Buffer.from(e.owner).readUInt32LE(0), e]));
  for (const a of acked.values()) {
    const e = byIndex.get(a.i);
    expect(e?.ref, `acknowledged write ${a.i} survives`).toEqual(a.ref);
    const { payload } = await back.read(a.ref);
    expect(payload.equals(payloadFor(a.i, a.bytes).payload)).toBe(true);
  }
  for (const [i, e] of byIndex) {
    expect(freed.has(i), `acknowledged free of ${i} holds`).toBe(false);
    expect(acked.has(e.ref.start) || maybe.has(i), `extent ${i} was written`).toBe(true);
    const { payload } = await back.read(e.ref); // in-flight survivors are whole, not torn
    expect(payload.equals(payloadFor(i, maybe.get(i)?.bytes ?? acked.get(e.ref.start)!.bytes).payload)).toBe(
      true,
    );
  }
  // No double allocation afterwards: new extents land on free blocks only.
  for (let j = 0; j < 3; j++) {
    const { payload, owner } = payloadFor(1_000_000 + j, 20_000);
    await back.write(payload, owner);
  }
  expect((await back.check()).length).toBe(found.length + 3);
  // The repair left both copies in step: a second open has nothing to repair.
  const again = await DeviceAllocator.open(image.crashImage());
  expect(again.report.repairedPages).toBe(0);
}

describe('DeviceAllocator: on-device bitmap with a mirror (I-C7, I-C8)', () => {
  it('I-C8: writes, reads, frees, and rebuilds its free list from the device after a clean reopen', async () => {
    const dev = new MemoryDevice({ sizeBytes: DEVICE_BYTES, blockSizeBytes: BS });
    const a = await DeviceAllocator.format(dev);
    const refs = await Promise.all(
      [10, 5000, 100_000].map((b, i) => a.write(payloadFor(i, b).payload, payloadFor(i, b).owner)),
    );
    for (const r of refs) expect((r.start * BS) % BS).toBe(0);
    await a.free(refs[1]!);
    await expect(a.read(refs[1]!)).rejects.toThrow(expect.objectContaining({ code: 'KISEKI_E_NOENT' }));
    const { allocator: b, report } = await DeviceAllocator.open(dev.crashImage());
    expect(report).toMatchObject({ repairedPages: 0, leakedBlocks: 0, extents: 2 });
    expect(b.stats.usedBlocks).toBe(refs[0]!.count + refs[2]!.count);
    expect((await b.read(refs[2]!)).payload.equals(payloadFor(2, 100_000).payload)).toBe(true);
  });

  it('a flipped bit in an extent is CORRUPT on read and found by scrub; a damaged page copy is repaired from the mirror', async () => {
    const dev = new MemoryDevice({ sizeBytes: DEVICE_BYTES, blockSizeBytes: BS });
    const a = await DeviceAllocator.format(dev);
    const ref = await a.write(Buffer.alloc(3000, 7), Buffer.alloc(16, 1));
    const layoutBlocks = (DEVICE_BYTES - BS) / BS;
    const pages = Math.ceil(layoutBlocks / ((BS - 32) * 8));
    const extentByte = (1 + 1 + pages + ref.start) * BS + 64 + 100;
    dev.flipBit(extentByte);
    await expect(a.read(ref)).rejects.toThrow(expect.objectContaining({ code: 'KISEKI_E_CORRUPT' }));
    const scrubbed = await a.scrub();
    expect(scrubbed.checked).toBe(1);
    expect(scrubbed.damaged).toMatchObject([{ ref, owner: new Uint8Array(16).fill(1) }]);
    expect(scrubbed.damaged[0]!.reason).toMatch(/checksum/);
    const stopped = new AbortController();
    stopped.abort();
    expect((await a.scrub({ signal: stopped.signal })).checked).toBe(0);
    dev.flipBit(extentByte);
    expect((await a.scrub()).damaged).toEqual([]);
    dev.flipBit(2 * BS + 40); // primary copy, page 0's bits
    const { allocator: b, report } = await DeviceAllocator.open(dev.crashImage());
    expect(report.repairedPages).toBe(1);
    expect((await b.read(ref)).payload.equals(Buffer.alloc(3000, 7))).toBe(true);
  });

  it('a full device is NOSPC and frees make room again', async () => {
    const dev = new MemoryDevice({ sizeBytes: 64 * 1024, blockSizeBytes: BS });
    const a = await DeviceAllocator.format(dev);
    const refs: ExtentRef[] = [];
    for (;;) {
      try {
        refs.push(await a.write(Buffer.alloc(4000), Buffer.alloc(16)));
      } catch (err) {
        expect(err).toMatchObject({ code: 'KISEKI_E_NOSPC' });
        break;
      }
      expect(refs.length).toBeLessThan(1000);
    }
    await a.free(refs[0]!);
    await a.write(Buffer.alloc(4000), Buffer.alloc(16));
    await a.check();
  });

  it('crash-point: a crash at every write and sync of a fixed history recovers consistently', async () => {
    // Extents of 1954 and 2930 blocks: the second straddles bitmap pages 0 and 1.
    const groups: Op[][] = [
      [{ kind: 'put', bytes: 1_000_000 }],
      [
        { kind: 'put', bytes: 1_500_000 },
        { kind: 'put', bytes: 3000 },
      ],
      [
        { kind: 'free', pick: 0 },
        { kind: 'put', bytes: 9000 },
      ],
      [{ kind: 'free', pick: 1 }],
      [{ kind: 'put', bytes: 1 }],
    ];
    // 5 groups of at most 4 commits of 4 device steps each, plus the data writes.
    for (let crashAt = 0; crashAt < 40; crashAt++) {
      for (const survives of [
        () => false,
        () => true,
        (b: number) => b % 2 === 0,
        (b: number) => b % 2 === 1,
      ]) {
        await crashAndRecover(groups, crashAt, survives);
      }
    }
  });

  it('crash-point property: random histories, crash points and torn unsynced blocks', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(opArb, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 8 }),
        fc.nat(80),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 64 }),
        async (groups, crashAt, mask) => {
          await crashAndRecover(groups, crashAt, (b) => mask[b % mask.length]!);
        },
      ),
      { numRuns: 150, timeout: 3000 },
    );
  });
});
