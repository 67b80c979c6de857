/**
 * Mounts a tenant namespace with libfuse3's low-level API (native/fuse3): 1 MiB requests,
 * requests received on libfuse's threads and answered asynchronously from JavaScript.
 * See docs/decisions/0001-fuse-binding.md.
 */
import { existsSync, statSync } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { type ConnectOptions, connect, type Kiseki } from '@kiseki/client';
import { type Fuse3, loadFuse3, type SessionHandle } from '@kiseki/native/fuse3';
import { KisekiError } from '@kiseki/proto';
import { LowLevelOps } from './ops.ts';

export const MAX_REQUEST_BYTES = 1024 * 1024;
/** Kernel readahead for the mount (its default is 128 KiB, below one 1 MiB request). */
export const READAHEAD_KB_DEFAULT = 4096;
/** How long an unmount waits for the kernel to let go (files still open elsewhere). */
const UNMOUNT_WAIT_MS = 2000;
/** How often the mount checks its tenant's keys (a shred is seen within this plus the key TTL). */
const KEY_WATCH_MS = 500;

export interface MountOptions extends ConnectOptions {
  readonly mountpoint: string;
  /** Seconds the kernel may cache attributes and entries (default 1). */
  readonly attrTimeoutS?: number;
  readonly allowOther?: boolean;
  readonly debug?: boolean;
  /** Kernel readahead in KiB, set through /sys/class/bdi when running as root (default 4096). */
  readonly readaheadKb?: number;
  /** libfuse threads reading /dev/fuse (default 2). */
  readonly threads?: number;
  readonly onError?: (op: string, detail: string, err: unknown) => void;
}

export interface Mounted {
  readonly kiseki: Kiseki;
  readonly mountpoint: string;
  /** Resolves when the session ends: unmounted by us, by `fusermount3 -u`/`umount`, or a dead
   * connection. `external` is true when it was not our unmount(). */
  readonly ended: Promise<{ external: boolean }>;
  /** Flushes open files, unmounts and closes the session. */
  unmount(): Promise<void>;
}

function checkMountpoint(mp: string): void {
  if (!existsSync(mp))
    throw new KisekiError(
      'KISEKI_E_NOENT',
      `mount point ${mp} does not exist: create it first (mkdir -p ${mp})`,
    );
  if (!statSync(mp).isDirectory())
    throw new KisekiError('KISEKI_E_NOTDIR', `mount point ${mp} is not a directory`);
  if (!existsSync('/dev/fuse'))
    throw new KisekiError(
      'KISEKI_E_UNAVAILABLE',
      '/dev/fuse is missing: install fuse3 and load the fuse module',
    );
}

function loadBinding(): Fuse3 {
  try {
    return loadFuse3();
  } catch (err) {
    throw new KisekiError('KISEKI_E_UNAVAILABLE', (err as Error).message);
  }
}

export async function mount(opts: MountOptions): Promise<Mounted> {
  checkMountpoint(opts.mountpoint);
  const fuse = loadBinding();
  const kiseki = await connect(opts);
  let exited!: () => void;
  const loopDone = new Promise<void>((resolve) => {
    exited = resolve;
  });
  const ops = new LowLevelOps(kiseki, fuse, {
    attrTimeoutS: opts.attrTimeoutS ?? 1,
    onError: opts.onError,
    onExit: () => exited(),
  });
  const allowOther = opts.allowOther ?? process.getuid?.() === 0;
  const mountOpts = [
    `fsname=kiseki:${opts.tenant}`,
    'subtype=kiseki',
    'default_permissions',
    ...(allowOther ? ['allow_other'] : []),
  ];
  const args = ['-o', mountOpts.join(','), ...(opts.debug ? ['-d'] : [])];
  let session: SessionHandle;
  try {
    session = fuse.mount(
      opts.mountpoint,
      args,
      { threads: opts.threads ?? 2, maxBackground: 64, writeSlots: ops.writeSlots },
      ops.onRequest,
    );
    ops.attach(session);
  } catch (err) {
    await kiseki.close().catch(() => {});
    throw new KisekiError(
      'KISEKI_E_UNAVAILABLE',
      `mount on ${opts.mountpoint} failed: ${(err as Error).message}`,
    );
  }
  // Crypto-shred (I-K5): nothing may come to the mount once the tenant's keys are gone, so
  // that is checked even while no request arrives (the kernel serves cached pages by itself).
  const keyWatch = setInterval(() => {
    kiseki.client.keys().catch((err: unknown) => {
      if (!(err instanceof KisekiError) || err.code !== 'KISEKI_E_SHREDDED') return;
      clearInterval(keyWatch);
      ops.shredded().catch((e) => opts.onError?.('shred', opts.mountpoint, e));
    });
  }, KEY_WATCH_MS);
  keyWatch.unref();
  // Async on purpose: a synchronous stat of our own mount would block the thread that answers it.
  await raiseReadahead(opts.mountpoint, opts.readaheadKb ?? READAHEAD_KB_DEFAULT).catch((err) =>
    opts.onError?.('readahead', opts.mountpoint, err),
  );
  let ours = false;
  let closing: Promise<void> | undefined;
  // Ends the session once the loop has stopped: flush what is still open, close the client.
  const finish = async (): Promise<void> => {
    clearInterval(keyWatch);
    await ops.flushAll();
    fuse.close(session);
    await kiseki.close();
  };
  const ended = loopDone.then(async () => {
    closing ??= finish();
    await closing.catch((err) => opts.onError?.('unmount', opts.mountpoint, err));
    return { external: !ours };
  });
  return {
    kiseki,
    mountpoint: opts.mountpoint,
    ended,
    async unmount() {
      if (!ours) {
        ours = true;
        await ops.flushAll();
        fuse.unmount(session);
      }
      const timeout = new Promise<'timeout'>((r) => setTimeout(r, UNMOUNT_WAIT_MS, 'timeout').unref());
      if ((await Promise.race([ended, timeout])) === 'timeout') {
        // Something still holds the detached mount (an open file, a working directory): our data
        // is flushed; the kernel drops the connection when this process exits.
        await kiseki.close().catch(() => {});
      }
    },
  };
}

/** The kernel caps FUSE readahead at its bdi default (128 KiB); root may raise it per mount. */
async function raiseReadahead(mountpoint: string, kb: number): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const dev = (await stat(mountpoint)).dev;
  const major = (dev >> 8) & 0xfff;
  const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
  await writeFile(`/sys/class/bdi/${major}:${minor}/read_ahead_kb`, String(kb));
}
