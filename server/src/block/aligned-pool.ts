/**
 * A bounded pool of aligned buffers for O_DIRECT I/O: Node's Buffers may start anywhere, and
 * O_DIRECT needs the memory, offset and length aligned to the device's logical block size.
 * Buffers come from posix_memalign in the native addon (see ADR 0010 for the measurement
 * against WebAssembly.Memory). They are allocated once and reused: first touch of fresh
 * memory is slow on this kind of VM, reuse runs at memcpy speed.
 */
import { alignedBuffer } from '@kiseki/native';
import { invariant } from '@kiseki/proto';

export class AlignedPool {
  private readonly free: Buffer[] = [];
  private readonly waiters: ((b: Buffer) => void)[] = [];
  private created = 0;

  /**
   * @param segmentBytes size of each buffer (a multiple of `alignment`)
   * @param buffersMax   most buffers ever allocated: the bound on I/O in flight
   * @param alignment    address alignment, a power of two >= 512
   */
  constructor(
    readonly segmentBytes: number,
    readonly buffersMax: number,
    readonly alignment: number,
  ) {
    invariant(segmentBytes > 0 && segmentBytes % alignment === 0, 'pool segment is aligned');
    invariant(Number.isSafeInteger(buffersMax) && buffersMax > 0, 'pool bound');
  }

  /** A buffer of `segmentBytes`, waiting while all `buffersMax` are in use. */
  acquire(): Promise<Buffer> {
    const b = this.free.pop();
    if (b !== undefined) return Promise.resolve(b);
    if (this.created < this.buffersMax) {
      this.created++;
      return Promise.resolve(alignedBuffer(this.segmentBytes, this.alignment));
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(b: Buffer): void {
    invariant(b.length === this.segmentBytes, 'released buffer belongs to the pool');
    const w = this.waiters.shift();
    if (w !== undefined) w(b);
    else this.free.push(b);
  }
}
