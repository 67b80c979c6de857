/**
 * KMIP TTLV encoding (OASIS KMIP 2.0 §9.1): tag u24 | type u8 | length u32 | value padded to a
 * multiple of 8 bytes. Pure codec, no I/O. Decoding treats its input as hostile: every length
 * is checked against the buffer, nesting is bounded, padding must be zero.
 */
export const TTLV_DEPTH_MAX = 16;
export const TTLV_MESSAGE_BYTES_MAX = 1 << 20;

export type Ttlv =
  | { readonly tag: number; readonly type: 'structure'; readonly value: readonly Ttlv[] }
  | { readonly tag: number; readonly type: 'integer' | 'enumeration' | 'interval'; readonly value: number }
  | { readonly tag: number; readonly type: 'long' | 'datetime'; readonly value: bigint }
  | { readonly tag: number; readonly type: 'boolean'; readonly value: boolean }
  | { readonly tag: number; readonly type: 'text'; readonly value: string }
  | { readonly tag: number; readonly type: 'bytes' | 'bignum'; readonly value: Buffer };

const TYPE_CODE = {
  structure: 0x01,
  integer: 0x02,
  long: 0x03,
  bignum: 0x04,
  enumeration: 0x05,
  boolean: 0x06,
  text: 0x07,
  bytes: 0x08,
  datetime: 0x09,
  interval: 0x0a,
} as const;
const TYPE_NAME = Object.fromEntries(Object.entries(TYPE_CODE).map(([k, v]) => [v, k])) as Record<
  number,
  Ttlv['type']
>;

export class TtlvError extends Error {}

// Constructors, so call sites read like the spec's message layouts.
export const struct = (tag: number, value: Ttlv[]): Ttlv => ({ tag, type: 'structure', value });
export const int = (tag: number, value: number): Ttlv => ({ tag, type: 'integer', value });
export const enumeration = (tag: number, value: number): Ttlv => ({ tag, type: 'enumeration', value });
export const text = (tag: number, value: string): Ttlv => ({ tag, type: 'text', value });
export const bytes = (tag: number, value: Uint8Array): Ttlv => ({
  tag,
  type: 'bytes',
  value: Buffer.from(value),
});

const pad8 = (n: number) => (n + 7) & ~7;

export function encodeTtlv(item: Ttlv): Buffer {
  let value: Buffer;
  switch (item.type) {
    case 'structure':
      value = Buffer.concat(item.value.map(encodeTtlv));
      break;
    case 'integer':
    case 'enumeration':
    case 'interval':
      value = Buffer.alloc(4);
      if (item.type === 'integer') value.writeInt32BE(item.value);
      else value.writeUInt32BE(item.value);
      break;
    case 'long':
    case 'datetime':
      value = Buffer.alloc(8);
      value.writeBigInt64BE(item.value);
      break;
    case 'boolean':
      value = Buffer.alloc(8);
      value.writeBigUInt64BE(item.value ? 1n : 0n);
      break;
    case 'text':
      value = Buffer.from(item.value, 'utf8');
      break;
    case 'bytes':
    case 'bignum':
      value = item.value;
      break;
  }
  const out = Buffer.alloc(8 + pad8(value.length));
  out.writeUIntBE(item.tag, 0, 3);
  out[3] = TYPE_CODE[item.type];
  out.writeUInt32BE(value.length, 4);
  value.copy(out, 8);
  return out;
}

/** Decodes exactly one item that fills `buf`. */
export function decodeTtlv(buf: Buffer): Ttlv {
  const { item, next } = decodeAt(buf, 0, buf.length, 0);
  if (next !== buf.length) throw new TtlvError('trailing bytes after the TTLV item');
  return item;
}

function decodeAt(buf: Buffer, at: number, end: number, depth: number): { item: Ttlv; next: number } {
  if (depth > TTLV_DEPTH_MAX) throw new TtlvError('TTLV nesting too deep');
  if (end - at < 8) throw new TtlvError('truncated TTLV header');
  const tag = buf.readUIntBE(at, 3);
  const type = TYPE_NAME[buf[at + 3]!];
  if (!type) throw new TtlvError(`unknown TTLV type 0x${buf[at + 3]!.toString(16)}`);
  const len = buf.readUInt32BE(at + 4);
  const start = at + 8;
  const padded = type === 'structure' ? len : pad8(len);
  if (type === 'structure' && len % 8 !== 0) throw new TtlvError('structure length not a multiple of 8');
  if (padded > end - start) throw new TtlvError('TTLV value runs past its container');
  const v = buf.subarray(start, start + len);
  for (let i = start + len; i < start + padded; i++)
    if (buf[i] !== 0) throw new TtlvError('non-zero TTLV padding');
  const fixed = (n: number) => {
    if (len !== n) throw new TtlvError(`${type} must be ${n} bytes, not ${len}`);
  };
  let item: Ttlv;
  switch (type) {
    case 'structure': {
      const children: Ttlv[] = [];
      let p = start;
      while (p < start + len) {
        const r = decodeAt(buf, p, start + len, depth + 1);
        children.push(r.item);
        p = r.next;
      }
      item = { tag, type, value: children };
      break;
    }
    case 'integer':
      fixed(4);
      item = { tag, type, value: v.readInt32BE(0) };
      break;
    case 'enumeration':
    case 'interval':
      fixed(4);
      item = { tag, type, value: v.readUInt32BE(0) };
      break;
    case 'long':
    case 'datetime':
      fixed(8);
      item = { tag, type, value: v.readBigInt64BE(0) };
      break;
    case 'boolean': {
      fixed(8);
      const b = v.readBigUInt64BE(0);
      if (b > 1n) throw new TtlvError('boolean must be 0 or 1');
      item = { tag, type, value: b === 1n };
      break;
    }
    case 'text': {
      let value: string;
      try {
        value = new TextDecoder('utf-8', { fatal: true }).decode(v);
      } catch {
        throw new TtlvError('text string is not valid UTF-8');
      }
      item = { tag, type, value };
      break;
    }
    default:
      item = { tag, type, value: Buffer.from(v) };
  }
  return { item, next: start + padded };
}

/** The first child of a structure with `tag`, or undefined. */
export function child(s: Ttlv | undefined, tag: number): Ttlv | undefined {
  return s?.type === 'structure' ? s.value.find((c) => c.tag === tag) : undefined;
}

export function children(s: Ttlv | undefined, tag: number): Ttlv[] {
  return s?.type === 'structure' ? s.value.filter((c) => c.tag === tag) : [];
}
