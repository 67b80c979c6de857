/**
 * DirectDevice: a DeviceBackend over a raw block device or a preallocated file, with O_DIRECT
 * I/O (no page cache: the chunk store's own caching decides what stays in memory, and a read
 * after a crash sees what the device holds, not what the cache held).
 *
 * - Geometry: a block device's logical and physical block sizes and size come from sysfs; a
 *   regular file is treated as 4096/4096. The device block size (the I-C7 alignment of every
 *   extent) defaults to max(4096, physical block size) and is recorded in the superblock.
 * - Memory: O_DIRECT needs aligned memory; callers pass ordinary Buffers and the backend copies
 *   through a bounded pool of aligned segments (aligned-pool.ts), SEGMENT_BYTES each, up to
 *   SEGMENTS_INFLIGHT_MAX in flight per device (they run in parallel on the libuv pool).
 * - Block devices are opened O_EXCL: the kernel refuses (EBUSY → KISEKI_E_BUSY) while the
 *   device is mounted or held by another exclusive opener.
 * - `format` refuses a device that holds a Kiseki superblock or any known filesystem, volume or
 *   partition-table signature (signatures.ts) unless `force`; it then wipes the probe area so
 *   stale signatures don't linger, and writes the superblock (block 0) durably.
 * - Durability as in the DeviceBackend contract: O_DIRECT bypasses the page cache but not the
 *   disk's write cache, so `sync()` is still an fdatasync (a cache flush on the device).
 */

import { randomUUID } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { type FileHandle, open as openFile, readFile, stat } from 'node:fs/promises';
import { alignedBuffer } from '@kiseki/native';
import { invariant, KisekiError } from '@kiseki/proto';
import { AlignedPool } from './aligned-pool.ts';
import {
  assertAligned,
  type DeviceBackend,
  fallocate,
  HandleDevice,
  ioError,
  totalLength,
} from './device.ts';
import { findSignature, SIGNATURE_PROBE_BYTES } from './signatures.ts';
import {
  decodeSuperblock,
  encodeSuperblock,
  isValidBlockSize,
  SUPERBLOCK_VERSION,
  type Superblock,
} from './superblock.ts';

/** Bytes per aligned bounce buffer: one O_DIRECT request. */
export const SEGMENT_BYTES = 1 << 20;
/** Aligned buffers (and so O_DIRECT requests) in flight per device. */
export const SEGMENTS_INFLIGHT_MAX = 8;
/** Block size used for regular files (any O_DIRECT alignment up to 4 KiB works with it). */
const FILE_BLOCK_BYTES = 4096;

export interface DeviceGeometry {
  readonly kind: 'block' | 'file';
  /** Smallest unit the device can address: O_DIRECT alignment. */
  readonly logicalBlockBytes: number;
  /** Unit the device writes atomically and efficiently. */
  readonly physicalBlockBytes: number;
  readonly sizeBytes: number;
}

/** Reads a block device's geometry from sysfs, or describes a regular file. */
export async function probeGeometry(path: string): Promise<DeviceGeometry> {
  const st = await stat(path).catch((err: unknown) => {
    throw ioError(err, `inspect ${path}`);
  });
  if (st.isFile()) {
    return {
      kind: 'file',
      logicalBlockBytes: FILE_BLOCK_BYTES,
      physicalBlockBytes: FILE_BLOCK_BYTES,
      sizeBytes: st.size,
    };
  }
  if (!st.isBlockDevice()) {
    throw new KisekiError('KISEKI_E_INVAL', `${path} is neither a block device nor a regular file`);
  }
  const major = Math.floor(st.rdev / 256) & 0xfff;
  const minor = (st.rdev & 0xff) | (Math.floor(st.rdev / 4096) & 0xfff00);
  const sys = `/sys/dev/block/${major}:${minor}`;
  const num = async (rel: string): Promise<number> =>
    Number((await readFile(`${sys}/${rel}`, 'utf8')).trim());
  // A partition has no queue/ of its own: its disk's is one level up.
  const queue = (await stat(`${sys}/queue`).then(
    () => true,
    () => false,
  ))
    ? 'queue'
    : '../queue';
  const geo: DeviceGeometry = {
    kind: 'block',
    logicalBlockBytes: await num(`${queue}/logical_block_size`),
    physicalBlockBytes: await num(`${queue}/physical_block_size`),
    sizeBytes: (await num('size')) * 512, // sysfs counts 512-byte sectors whatever the block size
  };
  invariant(isValidBlockSize(geo.logicalBlockBytes), `${path}: logical block size ${geo.logicalBlockBytes}`);
  return geo;
}

export interface DirectDeviceFormatOptions {
  /** Format even over a Kiseki superblock or a filesystem signature (destroys it). Default false. */
  force?: boolean;
  /** I-C7 alignment; a power of two >= the logical block size. Default max(4096, physical). */
  blockSizeBytes?: number;
  /**
   * Regular file: its size (created and preallocated with fallocate if missing, extended if
   * smaller). Block device: use only this many bytes (default the whole device).
   */
  sizeBytes?: number;
}

export class DirectDevice extends HandleDevice implements DeviceBackend {
  readonly deviceUuid: string;
  readonly blockSizeBytes: number;
  readonly sizeBytes: number;
  readonly dataStartBytes: number;
  readonly geometry: DeviceGeometry;
  private readonly pool: AlignedPool;

  private constructor(path: string, fh: FileHandle, sb: Superblock, geometry: DeviceGeometry) {
    super(path, fh);
    this.geometry = geometry;
    this.deviceUuid = sb.deviceUuid;
    this.blockSizeBytes = sb.blockSizeBytes;
    this.sizeBytes = sb.sizeBytes;
    this.dataStartBytes = sb.dataStartBytes;
    this.pool = new AlignedPool(
      SEGMENT_BYTES,
      SEGMENTS_INFLIGHT_MAX,
      Math.max(4096, geometry.logicalBlockBytes),
    );
  }

  /**
   * Writes a fresh superblock (new device uuid) on `path` and opens it. Refusals (KisekiError):
   * a Kiseki superblock or a filesystem/volume signature without `force` → KISEKI_E_EXIST; the
   * device in use → KISEKI_E_BUSY; bad geometry, or a filesystem without O_DIRECT (tmpfs) →
   * KISEKI_E_INVAL; a missing file without `sizeBytes` → KISEKI_E_NOENT.
   */
  static async format(path: string, opts: DirectDeviceFormatOptions = {}): Promise<DirectDevice> {
    let geo = await probeGeometry(path).catch(async (err: unknown) => {
      if (!(err instanceof KisekiError && err.code === 'KISEKI_E_NOENT' && opts.sizeBytes !== undefined))
        throw err;
      await (
        await openFile(path, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_RDWR, 0o600)
      ).close();
      return probeGeometry(path);
    });
    if (geo.kind === 'file' && opts.sizeBytes !== undefined && geo.sizeBytes < opts.sizeBytes) {
      await preallocate(path, opts.sizeBytes);
      geo = await probeGeometry(path);
    }
    const bs = opts.blockSizeBytes ?? Math.max(4096, geo.physicalBlockBytes);
    if (!isValidBlockSize(bs) || bs < geo.logicalBlockBytes) {
      throw new KisekiError(
        'KISEKI_E_INVAL',
        `block size ${bs} must be a power of two in [512, 1 MiB] and at least the device's logical block size ${geo.logicalBlockBytes}`,
      );
    }
    const usable = Math.min(geo.sizeBytes, opts.sizeBytes ?? geo.sizeBytes);
    const sizeBytes = usable - (usable % bs);
    if (sizeBytes < 2 * bs) {
      throw new KisekiError(
        'KISEKI_E_INVAL',
        `${path} has ${geo.sizeBytes} bytes: too small for a device of ${bs}-byte blocks`,
      );
    }
    const fh = await openDirect(path, geo);
    try {
      const probe = new DirectDevice(path, fh, placeholderSuperblock(bs, sizeBytes), geo);
      const headBytes = Math.min(SIGNATURE_PROBE_BYTES - (SIGNATURE_PROBE_BYTES % bs) + bs, sizeBytes);
      const head = await probe.readRaw(0, headBytes);
      const found = findSignature(head);
      if (found !== undefined && opts.force !== true) {
        throw new KisekiError(
          'KISEKI_E_EXIST',
          `${path} holds ${found}; refusing to format it. Check the path, or pass force to destroy what is there`,
        );
      }
      const sb: Superblock = {
        version: SUPERBLOCK_VERSION,
        blockSizeBytes: bs,
        sizeBytes,
        dataStartBytes: bs,
        deviceUuid: randomUUID(),
        createdAtMs: Date.now(),
      };
      // Wipe the probe area after block 0 first, then write the superblock: a crash in between
      // leaves a device with no signature at all, never a stale filesystem behind our magic.
      if (headBytes > bs) await probe.writeRaw(bs, [Buffer.alloc(headBytes - bs)]);
      await fh.datasync();
      const block0 = Buffer.alloc(bs);
      block0.set(encodeSuperblock(sb), 0);
      await probe.writeRaw(0, [block0]);
      await fh.datasync();
      const back = decodeSuperblock(await probe.readRaw(0, bs), path);
      invariant(back.deviceUuid === sb.deviceUuid, 'superblock reads back as written');
      return new DirectDevice(path, fh, sb, geo);
    } catch (err) {
      await fh.close();
      throw ioError(err, `format ${path}`);
    }
  }

  /**
   * Opens a formatted device. No superblock → KISEKI_E_INVAL; damaged superblock, or a device
   * smaller than its superblock says → KISEKI_E_CORRUPT; in use → KISEKI_E_BUSY.
   */
  static async open(path: string): Promise<DirectDevice> {
    const geo = await probeGeometry(path);
    const fh = await openDirect(path, geo);
    try {
      const first = Math.max(4096, geo.logicalBlockBytes);
      if (geo.sizeBytes < first)
        throw new KisekiError('KISEKI_E_INVAL', `${path} is too small to be a Kiseki device`);
      const probe = new DirectDevice(
        path,
        fh,
        placeholderSuperblock(first, geo.sizeBytes - (geo.sizeBytes % first)),
        geo,
      );
      const sb = decodeSuperblock(await probe.readRaw(0, first), path);
      if (sb.sizeBytes > geo.sizeBytes) {
        throw new KisekiError(
          'KISEKI_E_CORRUPT',
          `${path} has ${geo.sizeBytes} bytes but its superblock says ${sb.sizeBytes}; the device shrank`,
        );
      }
      if (sb.blockSizeBytes % geo.logicalBlockBytes !== 0) {
        throw new KisekiError(
          'KISEKI_E_INVAL',
          `${path}: block size ${sb.blockSizeBytes} is not a multiple of the device's logical block size ${geo.logicalBlockBytes}`,
        );
      }
      return new DirectDevice(path, fh, sb, geo);
    } catch (err) {
      await fh.close();
      throw ioError(err, `open ${path}`);
    }
  }

  /** Reads `length` bytes at `offset`, into `into` when it is given and large enough. */
  async read(offset: number, length: number, into?: Buffer): Promise<Buffer> {
    assertAligned(this, offset, length, false);
    if (into === undefined || into.length < length) return this.readRaw(offset, length);
    const out = into.subarray(0, length);
    await this.readInto(offset, out);
    return out;
  }

  /**
   * Reads into `target` (length a multiple of the block size) without allocating. A buffer from
   * `directBuffer` is read into directly (one request, no bounce copy).
   */
  async readInto(offset: number, target: Uint8Array): Promise<void> {
    assertAligned(this, offset, target.length, false);
    if (this.isDirect(target)) return this.transfer('read', target, target.length, offset);
    await this.eachSegment(target.length, async (at, len, buf) => {
      await this.transfer('read', buf, len, offset + at);
      target.set(buf.subarray(0, len), at);
    });
  }

  /** Writes `data`; a buffer from `directBuffer` goes to the device as is (no bounce copy). */
  async write(offset: number, data: Uint8Array): Promise<void> {
    assertAligned(this, offset, data.length, true);
    if (this.isDirect(data)) return this.transfer('write', data, data.length, offset);
    await this.writeRaw(offset, [data]);
  }

  async writev(offset: number, pieces: readonly Uint8Array[]): Promise<void> {
    assertAligned(this, offset, totalLength(pieces), true);
    await this.writeRaw(offset, pieces);
  }

  /** A caller buffer O_DIRECT can take as is: ours (directBuffer) and aligned for this device. */
  private isDirect(b: Uint8Array): boolean {
    return this.geometry.logicalBlockBytes <= 4096 && isDirectBuffer(b);
  }

  // ---- internals: unchecked aligned I/O through the pool ---------------------------------

  private async readRaw(offset: number, length: number): Promise<Buffer> {
    const out = Buffer.allocUnsafe(length);
    await this.eachSegment(length, async (at, len, buf) => {
      await this.transfer('read', buf, len, offset + at);
      buf.copy(out, at, 0, len);
    });
    return out;
  }

  private async writeRaw(offset: number, pieces: readonly Uint8Array[]): Promise<void> {
    const length = totalLength(pieces);
    await this.eachSegment(length, async (at, len, buf) => {
      gather(pieces, at, buf.subarray(0, len));
      await this.transfer('write', buf, len, offset + at);
    });
  }

  /** Runs `io` for each SEGMENT_BYTES piece of [0, length) with a pool buffer, in parallel up to the pool bound. */
  private async eachSegment(
    length: number,
    io: (at: number, len: number, buf: Buffer) => Promise<void>,
  ): Promise<void> {
    const jobs: Promise<void>[] = [];
    for (let at = 0; at < length; at += SEGMENT_BYTES) {
      const len = Math.min(SEGMENT_BYTES, length - at);
      const buf = await this.pool.acquire();
      jobs.push(io(at, len, buf).finally(() => this.pool.release(buf)));
    }
    const results = await Promise.allSettled(jobs);
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  }

  private async transfer(
    op: 'read' | 'write',
    buf: Uint8Array,
    len: number,
    position: number,
  ): Promise<void> {
    let done = 0;
    while (done < len) {
      const n =
        op === 'read'
          ? (await this.fh.read(buf, done, len - done, position + done).catch(fail)).bytesRead
          : (await this.fh.write(buf, done, len - done, position + done).catch(fail)).bytesWritten;
      if (n === 0)
        throw new KisekiError(
          'KISEKI_E_CORRUPT',
          `${this.path}: unexpected end of device at ${position + done}`,
        );
      done += n;
    }
    function fail(err: unknown): never {
      throw ioError(err, `${op} ${position}`);
    }
  }
}

/** Memory handed out by `directBuffer`: page aligned at its start. */
const directMemory = new WeakSet<ArrayBufferLike>();

/** `bytes` of page-aligned memory (a multiple of 4096) that DirectDevice reads and writes without a bounce copy. */
export function directBuffer(bytes: number): Buffer {
  invariant(
    Number.isSafeInteger(bytes) && bytes > 0 && bytes % 4096 === 0,
    'direct buffer size is a multiple of 4096',
  );
  const b = alignedBuffer(bytes, 4096);
  directMemory.add(b.buffer);
  return b;
}

/** True when `b` lies in aligned memory at a 4096-aligned offset with a 4096-multiple length. */
function isDirectBuffer(b: Uint8Array): boolean {
  return directMemory.has(b.buffer) && b.byteOffset % 4096 === 0 && b.length % 4096 === 0;
}

/** Copies bytes [at, at + out.length) of the concatenation of `pieces` into `out`. */
function gather(pieces: readonly Uint8Array[], at: number, out: Uint8Array): void {
  let base = 0;
  let filled = 0;
  for (const p of pieces) {
    const end = base + p.length;
    if (end > at + filled && filled < out.length) {
      const from = at + filled - base;
      const n = Math.min(p.length - from, out.length - filled);
      out.set(p.subarray(from, from + n), filled);
      filled += n;
    }
    base = end;
    if (filled === out.length) break;
  }
  invariant(filled === out.length, 'gather covers the segment');
}

async function openDirect(path: string, geo: DeviceGeometry): Promise<FileHandle> {
  // O_EXCL on a block device is the kernel's exclusive claim: EBUSY while mounted or claimed.
  const flags = fsConstants.O_RDWR | fsConstants.O_DIRECT | (geo.kind === 'block' ? fsConstants.O_EXCL : 0);
  try {
    return await openFile(path, flags);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EINVAL') {
      throw new KisekiError(
        'KISEKI_E_INVAL',
        `${path}: the filesystem does not support O_DIRECT (kernels before 6.6 lack it on tmpfs); put the device file on a disk filesystem`,
        { cause: err },
      );
    }
    throw ioError(err, `open ${path}`);
  }
}

/** Geometry-only superblock for the probe I/O before the real one is known. */
function placeholderSuperblock(bs: number, sizeBytes: number): Superblock {
  return {
    version: SUPERBLOCK_VERSION,
    blockSizeBytes: bs,
    sizeBytes,
    dataStartBytes: bs,
    deviceUuid: '',
    createdAtMs: 0,
  };
}

/** Reserves real blocks for a device file (fallocate), else extends it sparse. */
async function preallocate(path: string, sizeBytes: number): Promise<void> {
  const fh = await openFile(path, 'r+');
  try {
    await fh.truncate(sizeBytes);
  } finally {
    await fh.close();
  }
  await fallocate(path, sizeBytes);
}
