/**
 * The erasure-coded fragment header: pure codec, no I/O. Format version 1, little-endian,
 * 32 bytes, followed by `fragment_bytes` of payload:
 *
 *   off len field
 *     0   4 magic           'KSKF' (ASCII)
 *     4   1 version         u8 = 1
 *     5   1 k               u8, data fragments (1..32)
 *     6   1 m               u8, parity fragments (1..16)
 *     7   1 index           u8, this fragment's place in [0, k+m); < k is data, >= k parity
 *     8   4 chunk_bytes     u32, length of the chunk the set encodes
 *    12   4 fragment_bytes  u32, payload length, ceil(chunk_bytes / k) (the last data
 *                           fragment is zero padded)
 *    16   4 payload_crc32c  CRC-32C of this fragment's payload
 *    20   4 chunk_crc32c    CRC-32C of the whole chunk: ties the k+m fragments of one chunk
 *                           together and checks the reassembled bytes
 *    24   4 reserved        zero
 *    28   4 header_crc32c   CRC-32C of bytes [0, 28)
 *
 * A change to this layout is a new version and a new golden fixture (fragment.test.ts).
 */
import { crc32c, EC_K_MAX, EC_M_MAX } from '@kiseki/native';
import { invariant, KisekiError } from '@kiseki/proto';

export const FRAGMENT_MAGIC = 'KSKF';
export const FRAGMENT_VERSION = 1;
export const FRAGMENT_HEADER_BYTES = 32;
/** Largest chunk one fragment set encodes (u32 field; chunk envelopes are at most ~16 MiB). */
export const CHUNK_BYTES_MAX = 0xffff_ffff;

const MAGIC = Buffer.from(FRAGMENT_MAGIC, 'ascii');
const HEADER_CRC_OFFSET = 28;

export interface FragmentHeader {
  readonly version: number;
  readonly k: number;
  readonly m: number;
  readonly index: number;
  readonly chunkBytes: number;
  readonly fragmentBytes: number;
  readonly payloadCrc32c: number;
  readonly chunkCrc32c: number;
}

/** Why (k, m) is not a supported code, or undefined when it is. */
export function ecPolicyProblem(k: number, m: number): string | undefined {
  if (!Number.isSafeInteger(k) || k < 1 || k > EC_K_MAX) return `k = ${k} is not in [1, ${EC_K_MAX}]`;
  if (!Number.isSafeInteger(m) || m < 1 || m > EC_M_MAX) return `m = ${m} is not in [1, ${EC_M_MAX}]`;
  return undefined;
}

/** Payload length of each fragment of a `chunkBytes` chunk split k ways. */
export function fragmentBytesFor(chunkBytes: number, k: number): number {
  return Math.ceil(chunkBytes / k);
}

/** Writes `h` into the first 32 bytes of `out`. Invalid input is our bug (assert). */
export function encodeFragmentHeader(h: FragmentHeader, out: Uint8Array): void {
  invariant(h.version === FRAGMENT_VERSION, 'fragment header version');
  invariant(ecPolicyProblem(h.k, h.m) === undefined, `fragment code ${h.k}+${h.m}`);
  invariant(Number.isInteger(h.index) && h.index >= 0 && h.index < h.k + h.m, 'fragment index');
  invariant(
    Number.isInteger(h.chunkBytes) && h.chunkBytes >= 0 && h.chunkBytes <= CHUNK_BYTES_MAX,
    'chunk bytes',
  );
  invariant(h.fragmentBytes === fragmentBytesFor(h.chunkBytes, h.k), 'fragment bytes');
  invariant(out.length >= FRAGMENT_HEADER_BYTES, 'fragment header room');
  const v = new DataView(out.buffer, out.byteOffset, FRAGMENT_HEADER_BYTES);
  out.set(MAGIC, 0);
  v.setUint8(4, h.version);
  v.setUint8(5, h.k);
  v.setUint8(6, h.m);
  v.setUint8(7, h.index);
  v.setUint32(8, h.chunkBytes, true);
  v.setUint32(12, h.fragmentBytes, true);
  v.setUint32(16, h.payloadCrc32c >>> 0, true);
  v.setUint32(20, h.chunkCrc32c >>> 0, true);
  v.setUint32(24, 0, true);
  v.setUint32(HEADER_CRC_OFFSET, crc32c(out.subarray(0, HEADER_CRC_OFFSET)), true);
}

/**
 * Decodes and checks a fragment (header and payload). Throws KisekiError KISEKI_E_CORRUPT for
 * a wrong magic, header or payload checksum, length or field, KISEKI_E_UNSUPPORTED for a newer
 * version. `where` names the fragment in messages.
 */
export function decodeFragment(
  bytes: Uint8Array,
  where: string,
): { header: FragmentHeader; payload: Uint8Array } {
  const corrupt = (what: string): KisekiError =>
    new KisekiError('KISEKI_E_CORRUPT', `${where}: ${what}; the fragment must be rebuilt from the others`);
  if (bytes.length < FRAGMENT_HEADER_BYTES || !Buffer.from(bytes.subarray(0, 4)).equals(MAGIC)) {
    throw corrupt(`no ${FRAGMENT_MAGIC} fragment header`);
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, FRAGMENT_HEADER_BYTES);
  if (v.getUint32(HEADER_CRC_OFFSET, true) !== crc32c(bytes.subarray(0, HEADER_CRC_OFFSET))) {
    throw corrupt('fragment header checksum mismatch');
  }
  const version = v.getUint8(4);
  if (version !== FRAGMENT_VERSION) {
    throw new KisekiError(
      'KISEKI_E_UNSUPPORTED',
      `${where}: fragment format version ${version} is not supported (this build reads ${FRAGMENT_VERSION}); upgrade kiseki-server`,
    );
  }
  const header: FragmentHeader = {
    version,
    k: v.getUint8(5),
    m: v.getUint8(6),
    index: v.getUint8(7),
    chunkBytes: v.getUint32(8, true),
    fragmentBytes: v.getUint32(12, true),
    payloadCrc32c: v.getUint32(16, true),
    chunkCrc32c: v.getUint32(20, true),
  };
  const problem = ecPolicyProblem(header.k, header.m);
  if (problem !== undefined) throw corrupt(`impossible code: ${problem}`);
  if (header.index >= header.k + header.m)
    throw corrupt(`index ${header.index} outside ${header.k}+${header.m}`);
  if (header.fragmentBytes !== fragmentBytesFor(header.chunkBytes, header.k))
    throw corrupt('inconsistent lengths');
  if (bytes.length !== FRAGMENT_HEADER_BYTES + header.fragmentBytes) {
    throw corrupt(
      `${bytes.length} bytes where the header says ${FRAGMENT_HEADER_BYTES + header.fragmentBytes}`,
    );
  }
  const payload = bytes.subarray(FRAGMENT_HEADER_BYTES);
  if (crc32c(payload) !== header.payloadCrc32c) throw corrupt('payload checksum mismatch');
  return { header, payload };
}
