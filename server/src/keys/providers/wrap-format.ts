/**
 * The frame around every wrapped key that an external KMS produced, so a blob can't be fed to
 * the wrong provider and a damaged one fails with a clear error before any KMS call.
 *
 *   v2: 'KSKW' | version u8 = 2 | kind u8 | body length u16 BE | body
 *
 * The internal provider keeps its own v1 layout ('KSKW' | 1 | 0 0 0 | nonce | ct | tag): byte 5
 * is 0 there, which no v2 kind uses. Each provider documents its body; golden vectors for all of
 * them are in test/fixtures/kms/.
 */
import { KisekiError } from '@kiseki/proto';
import type { KmsKind } from './provider.ts';

export const WRAP_MAGIC = Buffer.from('KSKW');
export const WRAPPED_BODY_BYTES_MAX = 4096;

const KIND_CODE: Record<Exclude<KmsKind, 'internal'>, number> = {
  vault: 2,
  kmip: 3,
  'aws-kms': 4,
  pkcs11: 5,
};

export function frameWrapped(kind: Exclude<KmsKind, 'internal'>, body: Uint8Array): Buffer {
  if (body.length > WRAPPED_BODY_BYTES_MAX) {
    throw new KisekiError('KISEKI_E_TOOBIG', `${kind} returned a wrapped key of ${body.length} bytes`);
  }
  const h = Buffer.alloc(8);
  WRAP_MAGIC.copy(h, 0);
  h[4] = 2;
  h[5] = KIND_CODE[kind];
  h.writeUInt16BE(body.length, 6);
  return Buffer.concat([h, body]);
}

export function unframeWrapped(kind: Exclude<KmsKind, 'internal'>, wrapped: Uint8Array): Buffer {
  const w = Buffer.from(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength);
  if (w.length < 8 || !w.subarray(0, 4).equals(WRAP_MAGIC)) {
    throw new KisekiError('KISEKI_E_CORRUPT', 'not a wrapped key');
  }
  if (w[4] !== 2) throw new KisekiError('KISEKI_E_CORRUPT', `unknown wrapped key version ${w[4]}`);
  if (w[5] !== KIND_CODE[kind]) {
    throw new KisekiError('KISEKI_E_CORRUPT', `wrapped key was not made by the ${kind} provider`);
  }
  if (w.readUInt16BE(6) !== w.length - 8) {
    throw new KisekiError('KISEKI_E_CORRUPT', 'wrapped key length does not match its header');
  }
  return w.subarray(8);
}

/** Reads a u8-length-prefixed field from a body; KISEKI_E_CORRUPT when it runs past the end. */
export function readField(body: Buffer, at: number): { value: Buffer; next: number } {
  if (at >= body.length) throw new KisekiError('KISEKI_E_CORRUPT', 'wrapped key body is truncated');
  const len = body[at]!;
  if (at + 1 + len > body.length) throw new KisekiError('KISEKI_E_CORRUPT', 'wrapped key body is truncated');
  return { value: body.subarray(at + 1, at + 1 + len), next: at + 1 + len };
}

export function field(value: Uint8Array): Buffer {
  if (value.length > 255) throw new Error('wrapped key field longer than 255 bytes');
  return Buffer.concat([Buffer.from([value.length]), value]);
}
