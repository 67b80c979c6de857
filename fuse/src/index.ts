export { fuseErrno } from './errno.ts';
export { MAX_REQUEST_BYTES, type Mounted, type MountOptions, mount } from './mount.ts';
export { makeOps, toFuseStat } from './ops.ts';
