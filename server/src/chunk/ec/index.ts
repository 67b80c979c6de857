/** Erasure coding of chunks: Reed-Solomon k+m fragments with checked headers (ISA-L in native/). */
export {
  type DecodeOptions,
  type DecodeResult,
  decodeChunk,
  type EcPolicy,
  encodeChunk,
  encodedBytes,
} from './codec.ts';
export {
  decodeFragment,
  ecPolicyProblem,
  FRAGMENT_HEADER_BYTES,
  FRAGMENT_MAGIC,
  FRAGMENT_VERSION,
  type FragmentHeader,
} from './fragment.ts';
