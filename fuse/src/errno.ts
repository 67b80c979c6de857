import { constants } from 'node:os';
import { KisekiError } from '@kiseki/proto';

/** The FUSE reply for a failure: a negative errno, one per error code (see proto/src/errors.ts). */
export function fuseErrno(err: unknown): number {
  if (err instanceof KisekiError) return -err.errno;
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code && code in constants.errno) return -(constants.errno as Record<string, number>)[code]!;
  return -constants.errno.EIO;
}
