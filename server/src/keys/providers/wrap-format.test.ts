/**
 * Golden vectors for every wrapped-key format (test/fixtures/kms/*.json). Each fixture holds a
 * known KEK, context and data key and the exact wrapped bytes; the test decodes them with the
 * format codecs, re-encodes them bit for bit, and opens the inner AES-256-GCM with node:crypto
 * the way the KMS does. UPDATE_FIXTURES=1 rewrites them (a format change is a reviewed event).
 */
import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InternalKms } from './internal.ts';
import { contextAad, contextMap, type WrapContext } from './provider.ts';
import {
  decodeAwsWrapped,
  decodeInternalWrapped,
  decodeKmipWrapped,
  decodePkcs11Wrapped,
  decodeVaultWrapped,
  encodeAwsWrapped,
  encodeInternalWrapped,
  encodeKmipWrapped,
  encodePkcs11Wrapped,
  encodeVaultWrapped,
} from './wrap-format.ts';

const DIR = fileURLToPath(new URL('../../../../test/fixtures/kms/', import.meta.url));
const KEK = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
const KEY = Buffer.from(Array.from({ length: 32 }, (_, i) => 0xa0 + i));
const CTX: WrapContext = { tenant: 'acme', epoch: 3, purpose: 'chunk-dek', chunkId: 'ab'.repeat(32) };

interface Fixture {
  format: string;
  note: string;
  kek: string;
  key: string;
  context: WrapContext;
  aad: string;
  contextMap: Record<string, string>;
  wrapped: string;
}

function gcm(key: Buffer, iv: Buffer, aad: Buffer, pt: Buffer) {
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(aad);
  return { iv, ciphertext: Buffer.concat([c.update(pt), c.final()]), tag: c.getAuthTag() };
}

function openGcm(key: Buffer, p: { iv: Buffer; ciphertext: Buffer; tag: Buffer }, aad: Buffer): Buffer {
  const d = createDecipheriv('aes-256-gcm', key, p.iv);
  d.setAAD(aad);
  d.setAuthTag(p.tag);
  return Buffer.concat([d.update(p.ciphertext), d.final()]);
}

/** Builds each vector with node:crypto and fixed IVs; the codecs only frame. */
function build(): Record<string, { note: string; wrapped: Buffer }> {
  const aad = contextAad(CTX);
  const vaultKey = Buffer.from(hkdfSync('sha256', KEK, Buffer.alloc(0), aad, 32));
  const v = gcm(vaultKey, Buffer.alloc(12, 4), Buffer.alloc(0), KEY);
  return {
    'internal-v1': {
      note: 'AES-256-GCM under the tenant KEK file, AAD = context',
      wrapped: encodeInternalWrapped(gcm(KEK, Buffer.alloc(12, 1), aad, KEY)),
    },
    'pkcs11-v2': {
      note: 'CKM_AES_GCM in the token, AAD = context',
      wrapped: encodePkcs11Wrapped(gcm(KEK, Buffer.alloc(12, 2), aad, KEY)),
    },
    'kmip-v2': {
      note: 'KMIP Encrypt AES-GCM by object "42", AAD = context',
      wrapped: encodeKmipWrapped({ uid: '42', ...gcm(KEK, Buffer.alloc(12, 3), aad, KEY) }),
    },
    'vault-v2': {
      note: 'Vault transit derived aes256-gcm96: key = HKDF-SHA-256(KEK, info = context); vault:v1:base64(nonce|ct|tag)',
      wrapped: encodeVaultWrapped(
        `vault:v1:${Buffer.concat([v.iv, v.ciphertext, v.tag]).toString('base64')}`,
      ),
    },
    'aws-kms-v2': {
      note: 'AWS KMS CiphertextBlob is opaque: the vector pins the frame and the encryption context',
      wrapped: encodeAwsWrapped(Buffer.from('opaque AWS KMS ciphertext blob')),
    },
  };
}

function fixture(format: string): Fixture {
  const path = join(DIR, `${format}.json`);
  if (process.env.UPDATE_FIXTURES === '1') {
    const b = build()[format]!;
    const f: Fixture = {
      format,
      note: b.note,
      kek: KEK.toString('hex'),
      key: KEY.toString('hex'),
      context: CTX,
      aad: contextAad(CTX).toString('hex'),
      contextMap: contextMap(CTX),
      wrapped: b.wrapped.toString('hex'),
    };
    writeFileSync(path, `${JSON.stringify(f, null, 2)}\n`);
  }
  return JSON.parse(readFileSync(path, 'utf8')) as Fixture;
}

describe('wrapped-key formats: golden vectors', () => {
  it('I-K17: the wrap context AAD and the AWS encryption context are pinned', () => {
    for (const format of Object.keys(build())) {
      const f = fixture(format);
      expect(contextAad(f.context).toString('hex')).toBe(f.aad);
      expect(contextMap(f.context)).toEqual(f.contextMap);
    }
    expect(contextAad({ tenant: 'acme', epoch: 3, purpose: 'tenant-data-key' }).toString()).toBe(
      'kiseki/v1/wrap\0tenant-data-key\0acme\x003',
    );
  });

  it('internal v1: decodes, re-encodes bit for bit, opens under the KEK; InternalKms unwraps it', async () => {
    const f = fixture('internal-v1');
    const w = Buffer.from(f.wrapped, 'hex');
    const parts = decodeInternalWrapped(w);
    expect(encodeInternalWrapped(parts)).toEqual(w);
    expect(openGcm(Buffer.from(f.kek, 'hex'), parts, Buffer.from(f.aad, 'hex')).toString('hex')).toBe(f.key);
    const dir = mkdtempSync(join(tmpdir(), 'kiseki-golden-'));
    try {
      writeFileSync(join(dir, `${f.context.tenant}.kek`), Buffer.from(f.kek, 'hex'));
      const kms = new InternalKms(dir);
      expect(Buffer.from(await kms.unwrap(w, f.context)).toString('hex')).toBe(f.key);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('pkcs11 v2: decodes, re-encodes, opens', () => {
    const f = fixture('pkcs11-v2');
    const w = Buffer.from(f.wrapped, 'hex');
    const parts = decodePkcs11Wrapped(w);
    expect(encodePkcs11Wrapped(parts)).toEqual(w);
    expect(openGcm(Buffer.from(f.kek, 'hex'), parts, Buffer.from(f.aad, 'hex')).toString('hex')).toBe(f.key);
  });

  it('kmip v2: decodes, re-encodes, opens', () => {
    const f = fixture('kmip-v2');
    const w = Buffer.from(f.wrapped, 'hex');
    const parts = decodeKmipWrapped(w);
    expect(parts.uid).toBe('42');
    expect(encodeKmipWrapped(parts)).toEqual(w);
    expect(openGcm(Buffer.from(f.kek, 'hex'), parts, Buffer.from(f.aad, 'hex')).toString('hex')).toBe(f.key);
  });

  it('vault v2: decodes, re-encodes, opens with the derived key', () => {
    const f = fixture('vault-v2');
    const w = Buffer.from(f.wrapped, 'hex');
    const ct = decodeVaultWrapped(w);
    expect(encodeVaultWrapped(ct)).toEqual(w);
    const raw = Buffer.from(ct.split(':')[2]!, 'base64');
    const derived = Buffer.from(
      hkdfSync('sha256', Buffer.from(f.kek, 'hex'), Buffer.alloc(0), Buffer.from(f.aad, 'hex'), 32),
    );
    const parts = {
      iv: raw.subarray(0, 12),
      ciphertext: raw.subarray(12, raw.length - 16),
      tag: raw.subarray(raw.length - 16),
    };
    expect(openGcm(derived, parts, Buffer.alloc(0)).toString('hex')).toBe(f.key);
  });

  it('aws-kms v2: decodes and re-encodes the frame', () => {
    const f = fixture('aws-kms-v2');
    const w = Buffer.from(f.wrapped, 'hex');
    expect(decodeAwsWrapped(w).toString()).toBe('opaque AWS KMS ciphertext blob');
    expect(encodeAwsWrapped(decodeAwsWrapped(w))).toEqual(w);
  });

  it('every decoder refuses the other formats and damaged frames with KISEKI_E_CORRUPT', () => {
    const decoders = [
      decodeInternalWrapped,
      decodePkcs11Wrapped,
      decodeKmipWrapped,
      decodeVaultWrapped,
      decodeAwsWrapped,
    ];
    const blobs = Object.keys(build()).map((k) => Buffer.from(fixture(k).wrapped, 'hex'));
    decoders.forEach((decode, i) => {
      blobs.forEach((b, j) => {
        if (i === j) {
          for (const cut of [1, 7, b.length - 1])
            expect(() => decode(b.subarray(0, cut))).toThrow(
              expect.objectContaining({ code: 'KISEKI_E_CORRUPT' }),
            );
        } else {
          expect(() => decode(b)).toThrow(expect.objectContaining({ code: 'KISEKI_E_CORRUPT' }));
        }
      });
    });
  });
});
