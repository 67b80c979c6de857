/**
 * Device backends: where chunk extents live. One interface for a preallocated file (here), and
 * later raw block devices with O_DIRECT and io_uring (issue 4).
 *
 * Contract shared by every backend:
 * - Every offset and length is a multiple of `blockSizeBytes` (I-C7). A misaligned request is our
 *   bug and fails an assertion; an O_DIRECT backend could not serve it anyway.
 * - Data lives in [dataStartBytes, sizeBytes). Bytes before `dataStartBytes` belong to the
 *   backend (superblock) and `write`/`writev` refuse them.
 * - `write` and `writev` resolve when the bytes are in the backend's volatile cache; only a
 *   later `sync()` makes every write that resolved before it durable (fdatasync semantics).
 * - Buffers passed to `write`/`writev` are not retained after the promise resolves. A direct-I/O
 *   backend copies them into aligned memory itself, so callers never need aligned buffers.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { type FileHandle, open as openFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { invariant, KisekiError } from '@kiseki/proto';
import {
  decodeSuperblock,
  encodeSuperblock,
  hasSuperblockMagic,
  isValidBlockSize,
  SUPERBLOCK_BYTES,
  SUPERBLOCK_VERSION,
  type Superblock,
} from './superblock.ts';

export interface DeviceBackend {
  /** Identity written at creation; binds the device to its index (a chunk store refuses a foreign device). */
  readonly deviceUuid: string;
  /** Physical block size: the alignment of every offset and length (I-C7). */
  readonly blockSizeBytes: number;
  /** Total size, including the backend's own header. */
  readonly sizeBytes: number;
  /** First byte available for data; a multiple of `blockSizeBytes`. */
  readonly dataStartBytes: number;
  /** Reads exactly `length` bytes at `offset`. */
  /** Reads `length` bytes at `offset`; a backend may read into `into` (at least `length` bytes,
   * e.g. a pooled buffer) instead of allocating. */
  read(offset: number, length: number, into?: Buffer): Promise<Buffer>;
  /** Writes `data` at `offset`; `data.length` is a multiple of the block size. */
  write(offset: number, data: Uint8Array): Promise<void>;
  /** Writes the concatenation of `pieces` at `offset` (one vectored call where the backend can). */
  writev(offset: number, pieces: readonly Uint8Array[]): Promise<void>;
  /** Makes every write that resolved before this call durable (fdatasync). */
  sync(): Promise<void>;
  /** Waits for pending I/O, then releases the backend. Idempotent. */
  close(): Promise<void>;
}

/** I-C7: asserts a request is block aligned and inside the device. */
export function assertAligned(
  dev: Pick<DeviceBackend, 'blockSizeBytes' | 'sizeBytes' | 'dataStartBytes'>,
  offset: number,
  length: number,
  forWrite: boolean,
): void {
  const bs = dev.blockSizeBytes;
  invariant(
    Number.isSafeInteger(offset) && offset >= 0 && offset % bs === 0,
    `I-C7: offset ${offset} aligned to ${bs}`,
  );
  invariant(
    Number.isSafeInteger(length) && length > 0 && length % bs === 0,
    `I-C7: length ${length} aligned to ${bs}`,
  );
  invariant(
    offset + length <= dev.sizeBytes,
    `I/O [${offset}, +${length}) inside device of ${dev.sizeBytes} bytes`,
  );
  if (forWrite)
    invariant(offset >= dev.dataStartBytes, `write at ${offset} would overwrite the device header`);
}

export function totalLength(pieces: readonly Uint8Array[]): number {
  let n = 0;
  for (const p of pieces) n += p.length;
  return n;
}

export interface FileDeviceCreateOptions {
  /** Overwrite a file that already holds a Kiseki superblock (destroys its data). Default false. */
  force?: boolean;
  /**
   * How to reserve the file's space. 'auto' (default) asks the filesystem for real blocks with
   * fallocate(1) (util-linux; instant on ext4/xfs, no data written) and falls back to a sparse
   * ftruncate when the tool or the filesystem can't. A sparse file can hit ENOSPC on the host
   * filesystem at write time; that surfaces as KISEKI_E_NOSPC from the write.
   * 'sparse' always uses ftruncate.
   */
  preallocate?: 'auto' | 'sparse';
}

/** What every backend over one open file descriptor shares: fdatasync and an idempotent close. */
export abstract class HandleDevice {
  private closing: Promise<void> | undefined;

  protected constructor(
    readonly path: string,
    protected readonly fh: FileHandle,
  ) {}

  async sync(): Promise<void> {
    await this.fh.datasync().catch((err: unknown) => {
      throw ioError(err, `fdatasync ${this.path}`);
    });
  }

  /** FileHandle.close waits for operations already submitted on the handle. */
  close(): Promise<void> {
    this.closing ??= this.fh.close();
    return this.closing;
  }
}

/**
 * A device over one preallocated regular file. Block 0 holds the superblock; data starts at
 * block 1. Uses buffered I/O (page cache) and fdatasync; O_DIRECT is for the raw-device backend.
 */
export class FileDevice extends HandleDevice implements DeviceBackend {
  readonly deviceUuid: string;
  readonly blockSizeBytes: number;
  readonly sizeBytes: number;
  readonly dataStartBytes: number;
  /** How the file's space was reserved at creation ('unknown' after open). */
  readonly allocation: 'fallocate' | 'sparse' | 'unknown';

  private constructor(path: string, fh: FileHandle, sb: Superblock, allocation: FileDevice['allocation']) {
    super(path, fh);
    this.deviceUuid = sb.deviceUuid;
    this.blockSizeBytes = sb.blockSizeBytes;
    this.sizeBytes = sb.sizeBytes;
    this.dataStartBytes = sb.dataStartBytes;
    this.allocation = allocation;
  }

  /**
   * Creates (or re-initialises) a device file of `sizeBytes` with a fresh superblock, durably:
   * built as `<path>.creating`, fdatasync'ed, renamed over `path`, parent directory fsync'ed.
   * Refuses (KISEKI_E_EXIST) a file that already starts with a superblock unless `force`;
   * a file without one is replaced. Bad geometry → KISEKI_E_INVAL.
   */
  static async create(
    path: string,
    sizeBytes: number,
    blockSizeBytes = 4096,
    options: FileDeviceCreateOptions = {},
  ): Promise<FileDevice> {
    if (!isValidBlockSize(blockSizeBytes)) {
      throw new KisekiError(
        'KISEKI_E_INVAL',
        `block size ${blockSizeBytes} must be a power of two in [512, 1 MiB]`,
      );
    }
    if (
      !Number.isSafeInteger(sizeBytes) ||
      sizeBytes % blockSizeBytes !== 0 ||
      sizeBytes < 2 * blockSizeBytes
    ) {
      throw new KisekiError(
        'KISEKI_E_INVAL',
        `device size ${sizeBytes} must be a multiple of the block size ${blockSizeBytes} and hold at least 2 blocks`,
      );
    }
    await refuseExistingDevice(path, options.force === true);
    // Build the device under a temporary name and rename it into place: a crash part-way never
    // leaves a file without a valid superblock at `path`.
    const tmp = `${path}.creating`;
    await rm(tmp, { force: true });
    let fh: FileHandle;
    try {
      fh = await openFile(tmp, fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
    } catch (err) {
      throw ioError(err, `create device file ${tmp}`);
    }
    try {
      await fh.truncate(sizeBytes);
      let allocation: FileDevice['allocation'] = 'sparse';
      if ((options.preallocate ?? 'auto') === 'auto' && (await fallocate(tmp, sizeBytes))) {
        allocation = 'fallocate';
      }
      const sb: Superblock = {
        version: SUPERBLOCK_VERSION,
        blockSizeBytes,
        sizeBytes,
        dataStartBytes: blockSizeBytes,
        deviceUuid: randomUUID(),
        createdAtMs: Date.now(),
      };
      const block0 = Buffer.alloc(blockSizeBytes);
      block0.set(encodeSuperblock(sb), 0);
      await writeFully(fh, block0, 0);
      await fh.datasync();
      await rename(tmp, path);
      await fsyncDir(dirname(path));
      // Pair the write with a read-back check.
      const back = Buffer.alloc(SUPERBLOCK_BYTES);
      await fh.read(back, 0, SUPERBLOCK_BYTES, 0);
      const again = decodeSuperblock(back, path);
      invariant(again.deviceUuid === sb.deviceUuid, 'superblock reads back as written');
      return new FileDevice(path, fh, sb, allocation);
    } catch (err) {
      await fh.close();
      await rm(tmp, { force: true });
      throw ioError(err, `create device file ${path}`);
    }
  }

  /**
   * Opens an existing device file and validates its superblock.
   * No superblock → KISEKI_E_INVAL; bad checksum or geometry, or a file shorter than the
   * superblock says → KISEKI_E_CORRUPT; missing file → KISEKI_E_NOENT.
   */
  static async open(path: string): Promise<FileDevice> {
    let fh: FileHandle;
    try {
      fh = await openFile(path, 'r+');
    } catch (err) {
      throw ioError(err, `open device file ${path}`);
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new KisekiError('KISEKI_E_INVAL', `${path} is not a regular file`);
      const head = Buffer.alloc(SUPERBLOCK_BYTES);
      const { bytesRead } = await fh.read(head, 0, SUPERBLOCK_BYTES, 0);
      const sb = decodeSuperblock(head.subarray(0, bytesRead), path);
      if (st.size < sb.sizeBytes) {
        throw new KisekiError(
          'KISEKI_E_CORRUPT',
          `${path} is ${st.size} bytes but its superblock says ${sb.sizeBytes}; the file was truncated`,
        );
      }
      return new FileDevice(path, fh, sb, 'unknown');
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async read(offset: number, length: number, into?: Buffer): Promise<Buffer> {
    assertAligned(this, offset, length, false);
    const buf = into && into.length >= length ? into.subarray(0, length) : Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh
        .read(buf, done, length - done, offset + done)
        .catch((err: unknown) => {
          throw ioError(err, `read ${this.path}`);
        });
      if (bytesRead === 0) {
        throw new KisekiError('KISEKI_E_CORRUPT', `${this.path}: unexpected end of file at ${offset + done}`);
      }
      done += bytesRead;
    }
    return buf;
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    assertAligned(this, offset, data.length, true);
    await writeFully(this.fh, data, offset).catch((err: unknown) => {
      throw ioError(err, `write ${this.path}`);
    });
  }

  async writev(offset: number, pieces: readonly Uint8Array[]): Promise<void> {
    const length = totalLength(pieces);
    assertAligned(this, offset, length, true);
    try {
      const { bytesWritten } = await this.fh.writev(pieces as Uint8Array[], offset);
      if (bytesWritten === length) return;
      // Short vectored write (rare on regular files): finish piece by piece.
      let pos = 0;
      for (const p of pieces) {
        const end = pos + p.length;
        if (end > bytesWritten) {
          const skip = Math.max(0, bytesWritten - pos);
          await writeFully(this.fh, p.subarray(skip), offset + pos + skip);
        }
        pos = end;
      }
    } catch (err) {
      throw ioError(err, `write ${this.path}`);
    }
  }
}

/** KISEKI_E_EXIST if `path` holds a Kiseki superblock (unless `force`); INVAL if it is not a regular file. */
async function refuseExistingDevice(path: string, force: boolean): Promise<void> {
  let fh: FileHandle;
  try {
    fh = await openFile(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw ioError(err, `inspect ${path}`);
  }
  try {
    if (!(await fh.stat()).isFile()) throw new KisekiError('KISEKI_E_INVAL', `${path} is not a regular file`);
    const head = Buffer.alloc(8);
    const { bytesRead } = await fh.read(head, 0, 8, 0);
    if (!force && hasSuperblockMagic(head.subarray(0, bytesRead))) {
      throw new KisekiError(
        'KISEKI_E_EXIST',
        `${path} already holds a Kiseki device; open it, or pass force to destroy its data`,
      );
    }
  } finally {
    await fh.close();
  }
}

async function writeFully(fh: FileHandle, data: Uint8Array, offset: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, offset + done);
    invariant(bytesWritten > 0, 'write makes progress');
    done += bytesWritten;
  }
}

/** Asks the filesystem for real blocks (fallocate(1), mode 0). False when that is not possible here. */
export function fallocate(path: string, sizeBytes: number): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('fallocate', ['-l', String(sizeBytes), path], { timeout: 60_000 }, (err) =>
      resolve(err === null),
    );
  });
}

async function fsyncDir(dir: string): Promise<void> {
  const d = await openFile(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/**
 * Maps a Node system error (errno code) to an expected KisekiError; an unknown errno becomes
 * UNAVAILABLE (EIO). Anything else (KisekiError, AssertionError) is returned unchanged.
 */
export function ioError(err: unknown, what: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (err instanceof KisekiError || typeof code !== 'string') return err; // not a system error: as is
  switch (code) {
    case 'ENOENT':
      return new KisekiError('KISEKI_E_NOENT', `${what}: no such file`, { cause: err });
    case 'ENOSPC':
    case 'EDQUOT':
      return new KisekiError('KISEKI_E_NOSPC', `${what}: the host filesystem is full`, { cause: err });
    case 'EACCES':
    case 'EPERM':
      return new KisekiError('KISEKI_E_ACCES', `${what}: permission denied`, { cause: err });
    case 'EBUSY':
      return new KisekiError(
        'KISEKI_E_BUSY',
        `${what}: the device is in use (mounted, or opened by another process)`,
        {
          cause: err,
        },
      );
    case 'EISDIR':
      return new KisekiError('KISEKI_E_INVAL', `${what}: is a directory`, { cause: err });
    default:
      return new KisekiError(
        'KISEKI_E_UNAVAILABLE',
        `${what} failed (${code ?? 'unknown error'}); check the disk`,
        {
          cause: err,
        },
      );
  }
}
