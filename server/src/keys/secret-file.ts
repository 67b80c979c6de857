import { randomBytes } from 'node:crypto';
import { link, open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes a secret atomically and durably, readable by the owner only (0600). With `exclusive`,
 * never replaces an existing file: fails with EEXIST instead (hard link, not rename).
 */
export async function writeFileDurable(
  path: string,
  data: Uint8Array,
  opts: { exclusive?: boolean } = {},
): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(data);
    await fh.datasync();
  } finally {
    await fh.close();
  }
  if (opts.exclusive) {
    try {
      await link(tmp, path);
    } finally {
      await unlink(tmp);
    }
  } else {
    await rename(tmp, path);
  }
  const d = await open(dirname(path), 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
