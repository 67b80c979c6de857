/**
 * The byte format of Raft messages between nodes and of the records the node's Raft journal
 * writes. Defined once here; golden bytes in codec.test.ts pin it.
 *
 * Integers are big-endian; u53 is a safe integer as u32 high | u32 low. Strings are u16 length +
 * UTF-8; byte strings are u32 length + bytes.
 *
 *   entry      := u53 index | u53 term | u8 type (0 normal, 1 conf-change) | bytes data
 *   conf       := u16 n | u32 voter… | u16 m | u32 learner…
 *   snapshot   := u53 index | u53 term | conf | bytes data
 *   message    := u8 type | u32 from | u32 to | u53 term | fields of the type (see encodeMessage)
 *   batch (v1) := u8 version (1) | u32 count | { str group | message }…
 *
 * Decoding checks every length against the buffer and throws KISEKI_E_CORRUPT on anything
 * malformed: the peer may be hostile or broken, and a bad frame must not crash the node.
 */

import { KisekiError } from '@kiseki/proto';
import type {
  ConfState,
  Entry,
  EntryType,
  HardState,
  Index,
  Message,
  MessageType,
  NodeId,
  Snapshot,
  Term,
} from './types.ts';

export const RAFT_BATCH_VERSION = 1;
/** Messages in one batch frame; a sender splits above it. */
export const RAFT_BATCH_MESSAGES_MAX = 65_536;
const U32 = 0x1_0000_0000;

const TYPE_CODE: Record<MessageType, number> = {
  'vote-request': 1,
  'vote-response': 2,
  append: 3,
  'append-response': 4,
  heartbeat: 5,
  'heartbeat-response': 6,
  snapshot: 7,
  'timeout-now': 8,
  'read-index': 9,
  'read-index-response': 10,
};
const CODE_TYPE = new Map(Object.entries(TYPE_CODE).map(([k, v]) => [v, k as MessageType]));

/** A growable output buffer. */
export class ByteWriter {
  #buf: Buffer;
  #len = 0;

  constructor(initial = 256) {
    this.#buf = Buffer.allocUnsafe(initial);
  }

  #room(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#len + n));
    this.#buf.copy(next, 0, 0, this.#len);
    this.#buf = next;
  }

  u8(v: number): this {
    this.#room(1);
    this.#buf[this.#len++] = v;
    return this;
  }
  u16(v: number): this {
    this.#room(2);
    this.#buf.writeUInt16BE(v, this.#len);
    this.#len += 2;
    return this;
  }
  u32(v: number): this {
    this.#room(4);
    this.#buf.writeUInt32BE(v >>> 0, this.#len);
    this.#len += 4;
    return this;
  }
  u53(v: number): this {
    this.#room(8);
    this.#buf.writeUInt32BE(Math.floor(v / U32), this.#len);
    this.#buf.writeUInt32BE(v >>> 0, this.#len + 4);
    this.#len += 8;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.u32(b.byteLength);
    this.#room(b.byteLength);
    this.#buf.set(b, this.#len);
    this.#len += b.byteLength;
    return this;
  }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    if (b.length > 0xffff) throw new KisekiError('KISEKI_E_INVAL', 'string over 65535 bytes');
    this.u16(b.length);
    this.#room(b.length);
    b.copy(this.#buf, this.#len);
    this.#len += b.length;
    return this;
  }
  /** The bytes written so far (a view; copy before writing more if kept). */
  finish(): Buffer {
    return this.#buf.subarray(0, this.#len);
  }
}

/** Reads what ByteWriter wrote; every read is bounds-checked (KISEKI_E_CORRUPT). */
export class ByteReader {
  #pos = 0;
  constructor(
    readonly buf: Buffer,
    readonly what: string,
  ) {}

  #need(n: number): void {
    if (this.#pos + n > this.buf.length) {
      throw new KisekiError('KISEKI_E_CORRUPT', `${this.what}: truncated at byte ${this.#pos}`);
    }
  }
  get done(): boolean {
    return this.#pos === this.buf.length;
  }
  u8(): number {
    this.#need(1);
    return this.buf[this.#pos++]!;
  }
  u16(): number {
    this.#need(2);
    const v = this.buf.readUInt16BE(this.#pos);
    this.#pos += 2;
    return v;
  }
  u32(): number {
    this.#need(4);
    const v = this.buf.readUInt32BE(this.#pos);
    this.#pos += 4;
    return v;
  }
  u53(): number {
    this.#need(8);
    const hi = this.buf.readUInt32BE(this.#pos);
    const lo = this.buf.readUInt32BE(this.#pos + 4);
    this.#pos += 8;
    if (hi >= 0x20_0000) throw new KisekiError('KISEKI_E_CORRUPT', `${this.what}: integer over 2^53`);
    return hi * U32 + lo;
  }
  /** A copy, so the frame buffer can be released. */
  bytes(): Uint8Array {
    const n = this.u32();
    this.#need(n);
    const out = new Uint8Array(n);
    out.set(this.buf.subarray(this.#pos, this.#pos + n));
    this.#pos += n;
    return out;
  }
  str(): string {
    const n = this.u16();
    this.#need(n);
    const s = this.buf.toString('utf8', this.#pos, this.#pos + n);
    this.#pos += n;
    return s;
  }
  end(): void {
    if (!this.done) throw new KisekiError('KISEKI_E_CORRUPT', `${this.what}: trailing bytes`);
  }
}

export function writeEntry(w: ByteWriter, e: Entry): void {
  w.u53(e.index)
    .u53(e.term)
    .u8(e.type === 'normal' ? 0 : 1)
    .bytes(e.data);
}

export function readEntry(r: ByteReader): Entry {
  const index = r.u53() as Index;
  const term = r.u53() as Term;
  const t = r.u8();
  if (t > 1) throw new KisekiError('KISEKI_E_CORRUPT', `${r.what}: entry type ${t}`);
  const type: EntryType = t === 0 ? 'normal' : 'conf-change';
  return Object.freeze({ index, term, type, data: r.bytes() });
}

function writeIds(w: ByteWriter, ids: readonly NodeId[]): void {
  w.u16(ids.length);
  for (const id of ids) w.u32(id);
}

function readIds(r: ByteReader): NodeId[] {
  const n = r.u16();
  const out: NodeId[] = [];
  for (let i = 0; i < n; i++) {
    const id = r.u32();
    if (id === 0) throw new KisekiError('KISEKI_E_CORRUPT', `${r.what}: node id 0 in a configuration`);
    out.push(id as NodeId);
  }
  return out;
}

export function writeConf(w: ByteWriter, c: ConfState): void {
  writeIds(w, c.voters);
  writeIds(w, c.learners);
}

export function readConf(r: ByteReader): ConfState {
  const voters = readIds(r);
  const learners = readIds(r);
  return Object.freeze({ voters: Object.freeze(voters), learners: Object.freeze(learners) });
}

export function writeSnapshot(w: ByteWriter, s: Snapshot): void {
  w.u53(s.metadata.index).u53(s.metadata.term);
  writeConf(w, s.metadata.conf);
  w.bytes(s.data);
}

export function readSnapshot(r: ByteReader): Snapshot {
  const index = r.u53() as Index;
  const term = r.u53() as Term;
  const conf = readConf(r);
  const data = r.bytes();
  return Object.freeze({ metadata: Object.freeze({ index, term, conf }), data });
}

export function writeHardState(w: ByteWriter, hs: HardState): void {
  w.u53(hs.term).u32(hs.vote).u53(hs.commit);
}

export function readHardState(r: ByteReader): HardState {
  const term = r.u53() as Term;
  const vote = r.u32() as NodeId;
  const commit = r.u53() as Index;
  return Object.freeze({ term, vote, commit });
}

/** `undefined` contexts travel as an empty string preceded by a 0 flag. */
function writeContext(w: ByteWriter, c: string | undefined): void {
  if (c === undefined) w.u8(0);
  else w.u8(1).str(c);
}
function readContext(r: ByteReader): string | undefined {
  const f = r.u8();
  if (f > 1) throw new KisekiError('KISEKI_E_CORRUPT', `${r.what}: context flag ${f}`);
  return f === 0 ? undefined : r.str();
}

export function writeMessage(w: ByteWriter, m: Message): void {
  w.u8(TYPE_CODE[m.type]).u32(m.from).u32(m.to).u53(m.term);
  switch (m.type) {
    case 'vote-request':
      w.u8((m.pre ? 1 : 0) | (m.transfer ? 2 : 0))
        .u53(m.lastIndex)
        .u53(m.lastTerm);
      return;
    case 'vote-response':
      w.u8((m.pre ? 1 : 0) | (m.granted ? 2 : 0));
      return;
    case 'append':
      w.u53(m.prevIndex).u53(m.prevTerm).u53(m.commit).u32(m.entries.length);
      for (const e of m.entries) writeEntry(w, e);
      return;
    case 'append-response':
      w.u8(m.reject ? 1 : 0)
        .u53(m.index)
        .u53(m.hintIndex)
        .u53(m.hintTerm);
      return;
    case 'heartbeat':
      w.u53(m.commit);
      writeContext(w, m.context);
      return;
    case 'heartbeat-response':
      writeContext(w, m.context);
      return;
    case 'snapshot':
      writeSnapshot(w, m.snapshot);
      return;
    case 'timeout-now':
      return;
    case 'read-index':
      w.str(m.context);
      return;
    case 'read-index-response':
      w.str(m.context).u53(m.index);
      return;
  }
}

export function readMessage(r: ByteReader): Message {
  const code = r.u8();
  const type = CODE_TYPE.get(code);
  if (type === undefined) throw new KisekiError('KISEKI_E_CORRUPT', `${r.what}: message type ${code}`);
  const from = r.u32() as NodeId;
  const to = r.u32() as NodeId;
  const term = r.u53() as Term;
  if (from === 0 || to === 0) throw new KisekiError('KISEKI_E_CORRUPT', `${r.what}: node id 0`);
  const base = { from, to, term };
  switch (type) {
    case 'vote-request': {
      const f = r.u8();
      return {
        ...base,
        type,
        pre: (f & 1) !== 0,
        transfer: (f & 2) !== 0,
        lastIndex: r.u53() as Index,
        lastTerm: r.u53() as Term,
      };
    }
    case 'vote-response': {
      const f = r.u8();
      return { ...base, type, pre: (f & 1) !== 0, granted: (f & 2) !== 0 };
    }
    case 'append': {
      const prevIndex = r.u53() as Index;
      const prevTerm = r.u53() as Term;
      const commit = r.u53() as Index;
      const n = r.u32();
      const entries: Entry[] = [];
      for (let i = 0; i < n; i++) entries.push(readEntry(r));
      for (let i = 0; i < entries.length; i++) {
        if (entries[i]!.index !== prevIndex + 1 + i) {
          throw new KisekiError('KISEKI_E_CORRUPT', `${r.what}: append entries not contiguous`);
        }
      }
      return { ...base, type, prevIndex, prevTerm, commit, entries };
    }
    case 'append-response': {
      const reject = r.u8() !== 0;
      return {
        ...base,
        type,
        reject,
        index: r.u53() as Index,
        hintIndex: r.u53() as Index,
        hintTerm: r.u53() as Term,
      };
    }
    case 'heartbeat': {
      const commit = r.u53() as Index;
      return { ...base, type, commit, context: readContext(r) };
    }
    case 'heartbeat-response':
      return { ...base, type, context: readContext(r) };
    case 'snapshot':
      return { ...base, type, snapshot: readSnapshot(r) };
    case 'timeout-now':
      return { ...base, type };
    case 'read-index':
      return { ...base, type, context: r.str() };
    case 'read-index-response': {
      const context = r.str();
      return { ...base, type, context, index: r.u53() as Index };
    }
  }
}

/** One message of one Raft group, as the transport carries it. */
export interface GroupMessage {
  readonly group: string;
  readonly message: Message;
}

export function encodeBatch(msgs: readonly GroupMessage[]): Buffer {
  if (msgs.length > RAFT_BATCH_MESSAGES_MAX) {
    throw new KisekiError(
      'KISEKI_E_INVAL',
      `raft batch of ${msgs.length} messages (max ${RAFT_BATCH_MESSAGES_MAX})`,
    );
  }
  const w = new ByteWriter(64 + msgs.length * 64);
  w.u8(RAFT_BATCH_VERSION).u32(msgs.length);
  for (const { group, message } of msgs) {
    w.str(group);
    writeMessage(w, message);
  }
  return w.finish();
}

export function decodeBatch(buf: Buffer): GroupMessage[] {
  const r = new ByteReader(buf, 'raft batch');
  const v = r.u8();
  if (v !== RAFT_BATCH_VERSION) throw new KisekiError('KISEKI_E_CORRUPT', `raft batch version ${v}`);
  const n = r.u32();
  if (n > RAFT_BATCH_MESSAGES_MAX) throw new KisekiError('KISEKI_E_CORRUPT', `raft batch of ${n} messages`);
  const out: GroupMessage[] = [];
  for (let i = 0; i < n; i++) {
    const group = r.str();
    out.push({ group, message: readMessage(r) });
  }
  r.end();
  return out;
}
