/**
 * `kiseki stage` and `kiseki cache`: the client's L2 cache on this host. Staging walks a dataset
 * in the namespace and pins every chunk of it in the cache (sealed envelopes only), so training
 * jobs read it later without touching the chunk servers.
 */

import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { connect, type Kiseki, L2Cache, type L2Stats } from '@kiseki/client';
import { KisekiError } from '@kiseki/proto';

export const CACHE_BYTES_DEFAULT = 10 * 1024 ** 3;

export function defaultCacheDir(): string {
  return (
    process.env.KISEKI_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'kiseki')
  );
}

/** Kiseki FUSE mounts on this host: mount point → tenant (from the `kiseki:<tenant>` fsname). */
export function kisekiMounts(): Map<string, string> {
  const out = new Map<string, string>();
  let text = '';
  try {
    text = readFileSync('/proc/self/mounts', 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const [src, mp, type] = line.split(' ');
    if (!src || !mp || !type?.startsWith('fuse') || !src.startsWith('kiseki:')) continue;
    out.set(mp.replace(/\\040/g, ' '), src.slice('kiseki:'.length));
  }
  return out;
}

/**
 * A path inside a mounted Kiseki file system becomes the namespace path below that mount; any
 * other absolute path is taken as a namespace path as it is.
 */
export function namespacePath(p: string, mounts = kisekiMounts()): { path: string; tenant?: string } {
  const abs = resolve(p);
  let best: [string, string] | undefined;
  for (const [mp, tenant] of mounts) {
    const rel = relative(mp, abs);
    if (!rel.startsWith('..') && !rel.startsWith('/') && (!best || mp.length > best[0].length))
      best = [mp, tenant];
  }
  if (!best) {
    if (!p.startsWith('/'))
      throw new KisekiError(
        'KISEKI_E_INVAL',
        `${p} is not inside a Kiseki mount; give a namespace path like /data`,
      );
    return { path: p };
  }
  const rel = relative(best[0], abs);
  return { path: `/${rel}`, tenant: best[1] };
}

export interface StageOptions {
  readonly server: string;
  readonly ca: string;
  readonly tenant: string;
  readonly credentialFile: string;
  readonly cacheDir: string;
  readonly cacheBytes: number;
  readonly progress?: (done: number, total: number, files: number) => void;
}

export interface StageResult {
  readonly files: number;
  readonly bytes: number;
  readonly fetchedChunks: number;
  readonly cachedChunks: number;
  readonly stats: L2Stats;
}

/** Pins every file under `path` (a file or a directory tree) in the L2 cache. */
export async function stage(path: string, o: StageOptions): Promise<StageResult> {
  const k: Kiseki = await connect({
    server: o.server,
    ca: o.ca,
    tenant: o.tenant,
    credentialFile: o.credentialFile,
    l2: { dir: o.cacheDir, capacityBytes: o.cacheBytes, mode: 'organic' },
  });
  try {
    const files: Array<{ ino: number; size: number }> = [];
    const walk = async (p: string, depth: number): Promise<void> => {
      if (depth > 4096) throw new KisekiError('KISEKI_E_INVAL', `${p}: directory tree too deep`);
      const st = await k.fs.lstat(p).catch((err: unknown) => {
        if (err instanceof KisekiError && err.code === 'KISEKI_E_NOENT')
          throw new KisekiError('KISEKI_E_NOENT', `${p}: no such file or directory in tenant ${o.tenant}`);
        throw err;
      });
      if (st.kind === 'file') files.push({ ino: st.ino, size: st.size });
      else if (st.kind === 'dir')
        for (const e of await k.fs.readdir(p))
          await walk(p === '/' ? `/${e.name}` : `${p}/${e.name}`, depth + 1);
    };
    await walk(path, 0);
    const total = files.reduce((a, f) => a + f.size, 0);
    let done = 0;
    let staged = 0;
    o.progress?.(0, total, files.length);
    for (const f of files) {
      staged += await k.client.stage(f.ino, (n) => {
        done += n;
        o.progress?.(done, total, files.length);
      });
    }
    const s = k.client.cacheStats;
    return {
      files: files.length,
      bytes: staged,
      fetchedChunks: s.chunkGets,
      cachedChunks: s.l2Hits,
      stats: k.client.l2!.stats(),
    };
  } finally {
    await k.close();
  }
}

/** The on-disk state of a tenant's cache (no server needed). */
export function cacheStats(dir: string, tenant: string): L2Stats {
  // An unbounded view: looking must not evict anything.
  return L2Cache.open({ dir, tenant, capacityBytes: Number.MAX_SAFE_INTEGER, mode: 'organic' }).stats();
}

export function cacheWipe(dir: string, tenant: string): void {
  L2Cache.open({ dir, tenant, capacityBytes: Number.MAX_SAFE_INTEGER, mode: 'organic' }).wipe();
}

/** A one-line progress bar on a terminal (stderr); nothing when stderr is not a terminal. */
export function progressBar(label: string, fmt: (n: number) => string) {
  const tty = process.stderr.isTTY;
  let last = 0;
  return {
    update(done: number, total: number, extra = ''): void {
      const now = Date.now();
      if (!tty || (now - last < 100 && done < total)) return;
      last = now;
      const width = 30;
      const frac = total > 0 ? Math.min(1, done / total) : 1;
      const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
      process.stderr.write(
        `\r${label} [${bar}] ${(frac * 100).toFixed(0)}% ${fmt(done)}/${fmt(total)} ${extra}`,
      );
    },
    end(): void {
      if (tty) process.stderr.write('\n');
    },
  };
}
