/**
 * Small durable-filesystem helpers: directory fsync and atomic file replacement. Every create,
 * rename or unlink of a log file is followed by an fsync of its directory, or the name can vanish
 * after a power loss even though the data blocks were synced.
 */

import { mkdir, open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/** fsync a directory so the names created, renamed or removed in it are durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Create `dir` (and parents) if missing, making each new name durable in its parent. Resolves
 * with true when it created something.
 */
export async function mkdirDurable(dir: string): Promise<boolean> {
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return false;
  // fsync every directory from the parent of the first created one down to dir's parent.
  let d = dir;
  const chain: string[] = [];
  while (true) {
    chain.push(dirname(d));
    if (d === first) break;
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  for (const p of chain.reverse()) await fsyncDir(p);
  await fsyncDir(dir);
  return true;
}

/**
 * Replace `path` with `data` atomically and durably: write `path.tmp`, fdatasync it, rename it
 * over `path`, fsync the directory. After a crash, `path` holds either the old or the new bytes.
 */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    const { bytesWritten } = await fh.write(data, 0, data.length, 0);
    if (bytesWritten !== data.length)
      throw new Error(`short write to ${tmp}: ${bytesWritten}/${data.length}`);
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  await fsyncDir(dirname(path));
}
