/**
 * Mounts a tenant namespace with libfuse (through fuse-native). Large requests need
 * `big_writes` and `max_write`, which fuse-native doesn't expose: a subclass adds them.
 * See docs/decisions/0001-fuse-binding.md.
 */
import { existsSync, statSync } from 'node:fs';
import { type ConnectOptions, connect, type Kiseki } from '@kiseki/client';
import { KisekiError } from '@kiseki/proto';
import Fuse from 'fuse-native';
import { makeOps } from './ops.ts';

export const MAX_REQUEST_BYTES = 128 * 1024; // libfuse2's ceiling

export interface MountOptions extends ConnectOptions {
  readonly mountpoint: string;
  /** Seconds the kernel may cache attributes and entries (default 1). */
  readonly attrTimeoutS?: number;
  readonly allowOther?: boolean;
  readonly debug?: boolean;
  readonly onError?: (op: string, path: string, err: unknown) => void;
}

export interface Mounted {
  readonly kiseki: Kiseki;
  readonly mountpoint: string;
  /** Flushes open files, unmounts and closes the session. */
  unmount(): Promise<void>;
}

class KisekiFuse extends Fuse {
  // fuse-native returns one string, '-o' followed by comma-separated options (or '').
  override _fuseOptions(): string {
    const base = super._fuseOptions();
    const extra = [
      'big_writes',
      `max_write=${MAX_REQUEST_BYTES}`,
      `max_read=${MAX_REQUEST_BYTES}`,
      'max_readahead=1048576',
    ];
    return base ? `${base},${extra.join(',')}` : `-o${extra.join(',')}`;
  }
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

export async function mount(opts: MountOptions): Promise<Mounted> {
  checkMountpoint(opts.mountpoint);
  const kiseki = await connect(opts);
  const { ops } = makeOps(kiseki, { onError: opts.onError });
  const ttl = opts.attrTimeoutS ?? 1;
  const fuse = new KisekiFuse(opts.mountpoint, ops as never, {
    force: true,
    timeout: false,
    defaultPermissions: true,
    allowOther: opts.allowOther ?? process.getuid?.() === 0,
    fsname: `kiseki:${opts.tenant}`,
    subtype: 'kiseki',
    autoCache: true,
    attrTimeout: ttl,
    entryTimeout: ttl,
    debug: opts.debug ?? false,
  });
  try {
    await new Promise<void>((resolve, reject) => fuse.mount((err) => (err ? reject(err) : resolve())));
  } catch (err) {
    await kiseki.close().catch(() => {});
    throw new KisekiError(
      'KISEKI_E_UNAVAILABLE',
      `mount on ${opts.mountpoint} failed: ${(err as Error).message}`,
    );
  }
  let unmounted = false;
  return {
    kiseki,
    mountpoint: opts.mountpoint,
    async unmount() {
      if (unmounted) return;
      unmounted = true;
      await new Promise<void>((resolve, reject) => fuse.unmount((err) => (err ? reject(err) : resolve())));
      await kiseki.close();
    },
  };
}
