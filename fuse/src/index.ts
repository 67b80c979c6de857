export { fuseErrno } from './errno.ts';
export { MAX_REQUEST_BYTES, type Mounted, type MountOptions, mount } from './mount.ts';
export { LowLevelOps, OPEN_FILES_MAX } from './ops.ts';
