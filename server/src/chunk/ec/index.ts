/** Erasure coding of chunks: Reed-Solomon k+m fragments with checked headers (ISA-L in native/). */
export { type DecodeResult, decodeChunk, type EcPolicy, encodeChunk } from './codec.ts';
export {
  decodeFragment,
  ecPolicyProblem,
  FRAGMENT_HEADER_BYTES,
  FRAGMENT_MAGIC,
  FRAGMENT_VERSION,
  type FragmentHeader,
} from './fragment.ts';
