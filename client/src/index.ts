/**
 * @kiseki/client: the thick client SDK.
 *
 *   const kiseki = await connect({ server: '127.0.0.1:7420', ca: '~/.kiseki/tls/ca.crt',
 *                                  tenant: 'default', credentialFile: '~/.kiseki/tenants/default.credential' });
 *   await kiseki.fs.writeFile('/hello.txt', Buffer.from('hi'));
 *   await kiseki.close();
 */
import { type ConnectOptions, KisekiClient } from './client.ts';
import { PathFs } from './paths.ts';

export { CACHE_MODES, type CacheMode, L2Cache, type L2Stats } from './cache/l2.ts';
export { type ConnectOptions, type CreateOptions, KisekiClient, type SetAttrOptions } from './client.ts';
export { Keyring } from './crypto/index.ts';
export { FileData } from './file-data.ts';
export {
  ClientLocks,
  type HeldRange,
  type LockConflict,
  type LockKind,
  type LockSpec,
  type LockType,
} from './locks.ts';
export { PathFs, splitPath } from './paths.ts';
export { Rpc } from './rpc.ts';
export { Snapshot } from './snapshot.ts';
export type { DirEntry, FileKind, Stat, Timespec } from './types.ts';
export { msToTimespec } from './types.ts';

export interface Kiseki {
  readonly client: KisekiClient;
  readonly fs: PathFs;
  close(): Promise<void>;
}

/** Opens a tenant session and returns the inode-level client and the path-level API. */
export async function connect(opts: ConnectOptions & { dentryTtlMs?: number }): Promise<Kiseki> {
  const client = await KisekiClient.connect(opts);
  const fs = new PathFs(client, opts.dentryTtlMs);
  return { client, fs, close: () => client.close() };
}
