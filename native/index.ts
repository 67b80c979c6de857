/**
 * Native addons with JavaScript fallbacks. `crc32c` is ISA-L's (kiseki_ec) when built, else the
 * SSE4.2 instruction (kiseki_native), else the slicing-by-8 version from @kiseki/proto: same
 * results. Erasure coding (ISA-L) has no fallback.
 */
import { createRequire } from 'node:module';
import { crc32c as crc32cJs, KisekiError } from '@kiseki/proto';

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

// ---- erasure coding and aligned memory (kiseki_ec: ec.c, Intel ISA-L) ------------------------

interface EcAddon {
  crc32c(data: Uint8Array, seed: number): number;
  ecEncode(k: number, m: number, data: readonly Uint8Array[], parity: readonly Uint8Array[]): void;
  ecReconstruct(k: number, m: number, fragments: readonly Uint8Array[], missing: readonly number[]): void;
  alignedBuffer(bytes: number, alignment: number): ArrayBuffer;
  ecKMax: number;
  ecMMax: number;
}

function loadEc(): EcAddon | undefined {
  try {
    return createRequire(import.meta.url)('./build/Release/kiseki_ec.node') as EcAddon;
  } catch {
    return undefined;
  }
}

const ec = loadEc();

function needEc(): EcAddon {
  if (ec === undefined) {
    throw new KisekiError(
      'KISEKI_E_UNAVAILABLE',
      'erasure coding needs the native addon built with Intel ISA-L: apt-get install libisal-dev, then bash native/build.sh',
    );
  }
  return ec;
}

/** True when the ISA-L addon is built (erasure coding and aligned buffers work). */
export const nativeEc: boolean = ec !== undefined;
/** Largest k and m the coder accepts. */
export const EC_K_MAX = 32;
export const EC_M_MAX = 16;

/**
 * Reed-Solomon (Cauchy, systematic): fills the m `parity` fragments from the k `data`
 * fragments, all of one length. Synchronous. Bad arguments throw RangeError (code KISEKI_E_INVAL).
 */
export function ecEncode(
  k: number,
  m: number,
  data: readonly Uint8Array[],
  parity: readonly Uint8Array[],
): void {
  needEc().ecEncode(k, m, data, parity);
}

/**
 * Rebuilds the fragments whose indexes are in `missing` (at most m; their buffers in
 * `fragments` are overwritten) from the first k fragments not listed. `fragments` has k+m
 * entries of one length. Synchronous.
 */
export function ecReconstruct(
  k: number,
  m: number,
  fragments: readonly Uint8Array[],
  missing: readonly number[],
): void {
  needEc().ecReconstruct(k, m, fragments, missing);
}

/** `bytes` of zeroed memory aligned to `alignment` (posix_memalign), for O_DIRECT I/O. */
export function alignedBuffer(bytes: number, alignment: number): Buffer {
  return Buffer.from(needEc().alignedBuffer(bytes, alignment));
}

/** KISEKI_NATIVE=0 selects the JavaScript CRC (to test the fallback); EC stays native. */
const crcEc = process.env.KISEKI_NATIVE === '0' ? undefined : ec;

/** Which CRC-32C implementation is in use, for logs and benchmarks (ISA-L's folding one is ~5x the SSE4.2 loop on >= 4 KiB). */
export const nativeCrc32c: 'isa-l' | 'sse4.2' | 'table' | 'javascript' = crcEc
  ? 'isa-l'
  : addon
    ? addon.hardware
      ? 'sse4.2'
      : 'table'
    : 'javascript';

/** CRC-32C of `data`, continuing from `seed` (the CRC of the bytes before, default 0). */
export const crc32c: (data: Uint8Array, seed?: number) => number = crcEc
  ? (data, seed = 0) => crcEc.crc32c(data, seed)
  : addon
    ? (data, seed = 0) => addon.crc32c(data, seed)
    : crc32cJs;
