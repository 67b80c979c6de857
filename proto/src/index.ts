export * from './crc32c.ts';
export * from './envelope.ts';
export * from './errors.ts';
export * from './ids.ts';
export * from './messages.ts';
export * from './mutex.ts';
export * from './raft-admin.ts';
export * from './rpc.ts';
export type * from './types.ts';
