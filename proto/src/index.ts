export * from './crc32c.ts';
export * from './errors.ts';
export * from './ids.ts';
