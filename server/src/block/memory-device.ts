/**
 * An in-memory DeviceBackend that models a volatile write cache, for crash tests and the
 * deterministic simulator. Writes land in an unsynced overlay (per block); `sync()` moves them
 * into the durable image; `crashImage()` builds the device a reboot would see: the durable image
 * plus any chosen subset of unsynced blocks (torn writes at block granularity).
 */
import { randomUUID } from 'node:crypto';
import { invariant } from '@kiseki/proto';
import { assertAligned, type DeviceBackend, totalLength } from './device.ts';
import { isValidBlockSize } from './superblock.ts';

export interface MemoryDeviceOptions {
  sizeBytes: number;
  /** Default 4096. */
  blockSizeBytes?: number;
  /** Default one block (where a real backend keeps its superblock). */
  dataStartBytes?: number;
  /** Default a fresh random uuid. */
  deviceUuid?: string;
}

export class MemoryDevice implements DeviceBackend {
  readonly deviceUuid: string;
  readonly blockSizeBytes: number;
  readonly sizeBytes: number;
  readonly dataStartBytes: number;
  private readonly durable: Uint8Array;
  /** Block index → bytes written since the last sync. */
  private readonly unsynced = new Map<number, Uint8Array>();
  private closed = false;
  /** Counts of calls, for tests that check group commit. */
  readonly counters = { writes: 0, syncs: 0, reads: 0 };

  constructor(opts: MemoryDeviceOptions, durable?: Uint8Array) {
    this.blockSizeBytes = opts.blockSizeBytes ?? 4096;
    invariant(isValidBlockSize(this.blockSizeBytes), 'memory device block size');
    invariant(opts.sizeBytes % this.blockSizeBytes === 0, 'memory device size is block aligned');
    this.sizeBytes = opts.sizeBytes;
    this.dataStartBytes = opts.dataStartBytes ?? this.blockSizeBytes;
    invariant(this.dataStartBytes % this.blockSizeBytes === 0, 'memory device data start is block aligned');
    this.deviceUuid = opts.deviceUuid ?? randomUUID();
    this.durable = durable ?? new Uint8Array(this.sizeBytes);
    invariant(this.durable.length === this.sizeBytes, 'memory device image size');
  }

  async read(offset: number, length: number): Promise<Buffer> {
    this.checkOpen();
    assertAligned(this, offset, length, false);
    this.counters.reads++;
    const out = Buffer.from(this.durable.subarray(offset, offset + length));
    const bs = this.blockSizeBytes;
    if (this.unsynced.size > 0) {
      for (let b = offset / bs; b < (offset + length) / bs; b++) {
        const dirty = this.unsynced.get(b);
        if (dirty !== undefined) out.set(dirty, b * bs - offset);
      }
    }
    await Promise.resolve();
    return out;
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    await this.writev(offset, [data]);
  }

  async writev(offset: number, pieces: readonly Uint8Array[]): Promise<void> {
    this.checkOpen();
    const length = totalLength(pieces);
    assertAligned(this, offset, length, true);
    this.counters.writes++;
    const all = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
    const bs = this.blockSizeBytes;
    for (let i = 0; i < length / bs; i++) {
      this.unsynced.set(offset / bs + i, all.slice(i * bs, (i + 1) * bs));
    }
    await Promise.resolve();
  }

  async sync(): Promise<void> {
    this.checkOpen();
    this.counters.syncs++;
    for (const [b, bytes] of this.unsynced) this.durable.set(bytes, b * this.blockSizeBytes);
    this.unsynced.clear();
    await Promise.resolve();
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Blocks written but not yet synced. */
  unsyncedBlocks(): number[] {
    return [...this.unsynced.keys()].sort((a, b) => a - b);
  }

  /** Flips one bit in the durable image and the overlay (a medium error behind our back). */
  flipBit(offset: number, bit = 0): void {
    this.durable[offset]! ^= 1 << bit;
    const bs = this.blockSizeBytes;
    const dirty = this.unsynced.get(Math.floor(offset / bs));
    if (dirty !== undefined) dirty[offset % bs]! ^= 1 << bit;
  }

  /**
   * The device as it looks after power loss: the durable image, plus each unsynced block for
   * which `survives(blockIndex)` is true (default: none survive).
   */
  crashImage(survives: (blockIndex: number) => boolean = () => false): MemoryDevice {
    const image = this.durable.slice();
    for (const [b, bytes] of this.unsynced) if (survives(b)) image.set(bytes, b * this.blockSizeBytes);
    return new MemoryDevice(
      {
        sizeBytes: this.sizeBytes,
        blockSizeBytes: this.blockSizeBytes,
        dataStartBytes: this.dataStartBytes,
        deviceUuid: this.deviceUuid,
      },
      image,
    );
  }

  private checkOpen(): void {
    invariant(!this.closed, 'memory device used after close');
  }
}
