/**
 * Native addons with JavaScript fallbacks. `crc32c` is the SSE4.2 instruction when the addon
 * is built (see build.sh), else the slicing-by-8 version from @kiseki/proto: same results.
 */
import { createRequire } from 'node:module';
import { crc32c as crc32cJs } from '@kiseki/proto';

interface Addon {
  crc32c(data: Uint8Array, seed?: number): number;
  hardware: boolean;
}

function load(): Addon | undefined {
  if (process.env.KISEKI_NATIVE === '0') return undefined;
  try {
    return createRequire(import.meta.url)('./build/Release/kiseki_native.node') as Addon;
  } catch {
    return undefined;
  }
}

const addon = load();

/** Which implementation is in use, for logs and benchmarks. */
export const nativeCrc32c: 'sse4.2' | 'table' | 'javascript' = addon
  ? addon.hardware
    ? 'sse4.2'
    : 'table'
  : 'javascript';

/** CRC-32C of `data`, continuing from `seed` (the CRC of the bytes before, default 0). */
export const crc32c: (data: Uint8Array, seed?: number) => number = addon
  ? (data, seed = 0) => addon.crc32c(data, seed)
  : crc32cJs;
