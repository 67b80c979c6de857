export { MAX_REQUEST_BYTES, type MountOptions, type Mounted, mount } from './mount.ts';
export { makeOps, toFuseStat } from './ops.ts';
export { fuseErrno } from './errno.ts';
