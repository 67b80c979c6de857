/**
 * MVCC snapshots for SDK readers: a pin on the view (I-V2) through which a reader walks paths,
 * lists directories and reads file bytes exactly as they were when the pin was taken, while
 * writers go on. The server keeps the chunks a live pin references out of GC. A pin lives for a
 * bounded time (I-V4); reads after that fail with KISEKI_E_PIN_EXPIRED, never with newer data.
 */
import {
  EntryPayloadCodec,
  invariant,
  KisekiError,
  type LookupResponse__Output,
  type PinResponse__Output,
} from '@kiseki/proto';
import type { KisekiClient } from './client.ts';
import { entryContext, openPayload } from './crypto/index.ts';
import { SYMLINK_HOPS_MAX, splitPath } from './paths.ts';
import { type DirEntry, type Stat, statFromAttr } from './types.ts';

export class Snapshot {
  #released = false;

  private constructor(
    private readonly client: KisekiClient,
    /** The pin id, the log position the snapshot shows, and when it expires. */
    readonly pin: number,
    readonly watermark: number,
    readonly expiresAtMs: number,
  ) {}

  /**
   * Pins the view as it is now, for `ttlMs` (the server caps it). It shows what was committed:
   * files this client still has open with unflushed writes appear as of their last flush.
   */
  static async open(client: KisekiClient, ttlMs = 60_000): Promise<Snapshot> {
    const r = await client.rpc.call<object, PinResponse__Output>(client.rpc.clients.view, 'Pin', { ttlMs });
    return new Snapshot(client, r.pin, r.watermark, r.expiresAtMs);
  }

  #pin(): number {
    if (this.#released) throw new KisekiError('KISEKI_E_PIN_EXPIRED', 'the snapshot was released');
    return this.pin;
  }

  #read() {
    return { pin: this.#pin(), minSeq: 0 };
  }

  getattr(ino: number): Promise<Stat> {
    return this.client.getattr(ino, this.#pin());
  }

  async lookup(parent: number, name: string): Promise<Stat & { payload: Buffer }> {
    const keys = await this.client.keys();
    const r = await this.client.rpc.call<object, LookupResponse__Output>(
      this.client.rpc.clients.view,
      'Lookup',
      {
        parent,
        nameToken: keys.nameToken(parent, name),
        read: this.#read(),
      },
    );
    invariant(r.attr, 'lookup returns attributes');
    return { ...statFromAttr(r.attr), payload: r.attr.payload };
  }

  /** Resolves a path in the snapshot, following symlinks. */
  async stat(path: string): Promise<Stat> {
    let parts = splitPath(path);
    let cur = await this.getattr(this.client.root);
    const stack: Stat[] = [];
    for (let hops = 0, i = 0; i < parts.length; i++) {
      const name = parts[i]!;
      if (name === '..') {
        cur = stack.pop() ?? cur;
        continue;
      }
      if (cur.kind !== 'dir')
        throw new KisekiError('KISEKI_E_NOTDIR', `${name}: a parent is not a directory`);
      const next = await this.lookup(cur.ino, name);
      if (next.kind === 'symlink') {
        if (++hops > SYMLINK_HOPS_MAX)
          throw new KisekiError('KISEKI_E_INVAL', 'too many levels of symbolic links');
        const keys = await this.client.keys();
        const target = EntryPayloadCodec.decode(
          openPayload(
            keys,
            next.payload,
            entryContext(this.client.tenant, cur.ino, keys.nameToken(cur.ino, name)),
          ),
        ).symlinkTarget;
        const rest = parts.slice(i + 1);
        if (target.startsWith('/')) {
          stack.length = 0;
          cur = await this.getattr(this.client.root);
        }
        parts = [...target.split('/').filter((c) => c && c !== '.'), ...rest];
        i = -1;
        continue;
      }
      stack.push(cur);
      cur = next;
    }
    return cur;
  }

  async readdir(path: string): Promise<DirEntry[]> {
    const dir = await this.stat(path);
    if (dir.kind !== 'dir') throw new KisekiError('KISEKI_E_NOTDIR', `${path} is not a directory`);
    return this.client.readdir(dir.ino, this.#pin());
  }

  /** Bytes [offset, offset + length) of inode `ino` as of the snapshot (holes read as zeros). */
  async read(ino: number, offset = 0, length = Number.POSITIVE_INFINITY): Promise<Buffer> {
    const bs = this.client.blockSize;
    const { size, blocks } = await this.client.blockMap(ino, this.#pin());
    const end = Math.min(size, offset + length);
    if (offset >= end) return Buffer.alloc(0);
    const first = Math.floor(offset / bs);
    const last = Math.floor((end - 1) / bs);
    const whole = Buffer.alloc((last - first + 1) * bs); // holes stay zeros
    const reads: Promise<void>[] = [];
    for (let i = first; i <= last; i++) {
      const b = blocks.get(i);
      if (b?.chunk) reads.push(this.client.readBlockInto(b.chunk, b.len, whole, (i - first) * bs));
    }
    await Promise.all(reads);
    return whole.subarray(offset - first * bs, end - first * bs);
  }

  async readFile(path: string): Promise<Buffer> {
    const st = await this.stat(path);
    return this.read(st.ino);
  }

  /** Ends the pin now (it would expire by itself). */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await this.client.rpc.call(this.client.rpc.clients.view, 'Unpin', { pin: this.pin });
  }
}
