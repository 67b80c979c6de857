/**
 * Every wrapped-key format, defined once. Golden vectors for each are in test/fixtures/kms/.
 *
 * Internal v1:  'KSKW' | 1 | 0 0 0 | nonce 12 | ciphertext 32 | tag 16 (AES-256-GCM, AAD =
 *               contextAad).
 * External v2:  'KSKW' | 2 | kind u8 | body length u16 BE | body — the frame around what an
 *               external KMS produced, so a blob can't be fed to the wrong provider and a damaged
 *               one fails with a clear error before any KMS call. Byte 5 is 0 in v1, which no
 *               v2 kind uses. Bodies:
 *   vault (2):   the Vault ciphertext string, UTF-8 ("vault:v<n>:<base64>")
 *   kmip (3):    uid (u8-len) | iv (u8-len, 12) | tag (u8-len, 16) | ciphertext 32
 *   aws-kms (4): the CiphertextBlob bytes, opaque
 *   pkcs11 (5):  iv (u8-len, 12) | ciphertext 32 | tag 16
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

/** Which provider made a wrapped key, from its header alone; undefined if it is not ours. */
export function wrappedKind(wrapped: Uint8Array): KmsKind | undefined {
  const w = Buffer.from(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength);
  if (w.length < 8 || !w.subarray(0, 4).equals(WRAP_MAGIC)) return undefined;
  if (w[4] === 1 && w[5] === 0) return 'internal';
  if (w[4] !== 2) return undefined;
  return (Object.keys(KIND_CODE) as Array<keyof typeof KIND_CODE>).find((k) => KIND_CODE[k] === w[5]);
}

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

const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

export interface GcmParts {
  readonly iv: Buffer;
  readonly ciphertext: Buffer;
  readonly tag: Buffer;
}

function checkParts(p: GcmParts, what: string): GcmParts {
  if (p.iv.length !== IV_BYTES || p.tag.length !== TAG_BYTES || p.ciphertext.length !== KEY_BYTES) {
    throw new KisekiError('KISEKI_E_CORRUPT', `${what} wrapped key has the wrong shape`);
  }
  return p;
}

export function encodeInternalWrapped(p: GcmParts): Buffer {
  checkParts(p, 'internal');
  return Buffer.concat([WRAP_MAGIC, Buffer.from([1, 0, 0, 0]), p.iv, p.ciphertext, p.tag]);
}

export function decodeInternalWrapped(wrapped: Uint8Array): GcmParts {
  const w = Buffer.from(wrapped);
  if (
    w.length !== 8 + IV_BYTES + KEY_BYTES + TAG_BYTES ||
    !w.subarray(0, 4).equals(WRAP_MAGIC) ||
    w[4] !== 1
  ) {
    throw new KisekiError('KISEKI_E_CORRUPT', 'wrapped key is not in internal format v1');
  }
  return { iv: w.subarray(8, 20), ciphertext: w.subarray(20, 52), tag: w.subarray(52, 68) };
}

export function encodePkcs11Wrapped(p: GcmParts): Buffer {
  checkParts(p, 'PKCS#11');
  return frameWrapped('pkcs11', Buffer.concat([field(p.iv), p.ciphertext, p.tag]));
}

export function decodePkcs11Wrapped(wrapped: Uint8Array): GcmParts {
  const body = unframeWrapped('pkcs11', wrapped);
  const { value: iv, next } = readField(body, 0);
  const rest = body.subarray(next);
  if (rest.length !== KEY_BYTES + TAG_BYTES)
    throw new KisekiError('KISEKI_E_CORRUPT', 'PKCS#11 wrapped key has the wrong shape');
  return checkParts(
    { iv, ciphertext: rest.subarray(0, KEY_BYTES), tag: rest.subarray(KEY_BYTES) },
    'PKCS#11',
  );
}

export interface KmipParts extends GcmParts {
  readonly uid: string;
}

export function encodeKmipWrapped(p: KmipParts): Buffer {
  checkParts(p, 'KMIP');
  return frameWrapped(
    'kmip',
    Buffer.concat([field(Buffer.from(p.uid, 'utf8')), field(p.iv), field(p.tag), p.ciphertext]),
  );
}

export function decodeKmipWrapped(wrapped: Uint8Array): KmipParts {
  const body = unframeWrapped('kmip', wrapped);
  const uid = readField(body, 0);
  const iv = readField(body, uid.next);
  const tag = readField(body, iv.next);
  if (uid.value.length === 0) throw new KisekiError('KISEKI_E_CORRUPT', 'KMIP wrapped key has no key id');
  const parts = checkParts({ iv: iv.value, tag: tag.value, ciphertext: body.subarray(tag.next) }, 'KMIP');
  return { ...parts, uid: uid.value.toString('utf8') };
}

const VAULT_CIPHERTEXT_RE = /^vault:v\d{1,9}:[A-Za-z0-9+/=]+$/;

export function encodeVaultWrapped(ciphertext: string): Buffer {
  if (!VAULT_CIPHERTEXT_RE.test(ciphertext))
    throw new KisekiError('KISEKI_E_CORRUPT', 'not a Vault ciphertext');
  return frameWrapped('vault', Buffer.from(ciphertext, 'utf8'));
}

export function decodeVaultWrapped(wrapped: Uint8Array): string {
  const s = unframeWrapped('vault', wrapped).toString('utf8');
  if (!VAULT_CIPHERTEXT_RE.test(s)) throw new KisekiError('KISEKI_E_CORRUPT', 'not a Vault ciphertext');
  return s;
}

export function encodeAwsWrapped(blob: Uint8Array): Buffer {
  if (blob.length === 0) throw new KisekiError('KISEKI_E_CORRUPT', 'empty AWS KMS ciphertext blob');
  return frameWrapped('aws-kms', blob);
}

export function decodeAwsWrapped(wrapped: Uint8Array): Buffer {
  const b = unframeWrapped('aws-kms', wrapped);
  if (b.length === 0) throw new KisekiError('KISEKI_E_CORRUPT', 'empty AWS KMS ciphertext blob');
  return b;
}
