/**
 * The node's Raft journal: durable RaftStorage for every Raft group on the node, in ONE
 * write-ahead log, so that concurrent Readies of many shards share one write + fdatasync (the
 * Wal's group commit). Each group's live state (snapshot, entries since its compaction point,
 * hard state) is also kept in memory (a MemoryRaftStorage), which is what the core reads; the
 * journal is replayed into it at open.
 *
 * Durability contract (RaftNode's ordering contract, step 1): `persist` resolves only once the
 * group's snapshot, entries and hard state are fdatasync'd; the caller sends the Ready's messages
 * after that. A crash loses only records that were not yet synced; replay stops at the torn tail
 * (the Wal cuts it and reports it).
 *
 * Record (v1): u8 version | u8 kind | str group | body (codec.ts encodings):
 *   1 entries      u32 n | entry…          (replaces stored entries from the first one on)
 *   2 hard-state   hardstate
 *   3 snapshot     snapshot                (received from a leader: replaces the log)
 *   4 created      u53 index | conf | bytes data   (createSnapshot at a local applied index)
 *   5 compact      u53 index
 *   6 bootstrap    conf                    (a new group and its founding voters; resets the group)
 *   7 checkpoint   u53 first seq           (every group's state was rewritten from that seq on)
 *
 * Space: the journal only grows, so once more than `checkpoint_bytes` were appended since the
 * last checkpoint it rewrites every group's live state (bootstrap + snapshot + entries + hard
 * state) as one batch, then a `checkpoint` record naming the batch's first seq, then deletes the
 * segments before it. Replay starts from the last checkpoint's first seq.
 */

import { join } from 'node:path';
import { invariant, KisekiError, type Seq } from '@kiseki/proto';
import {
  ByteReader,
  ByteWriter,
  readConf,
  readEntry,
  readHardState,
  readSnapshot,
  writeConf,
  writeEntry,
  writeHardState,
  writeSnapshot,
} from './raft/codec.ts';
import { MemoryRaftStorage, type RaftStorage } from './raft/storage.ts';
import type { ConfState, Entry, HardState, Index, Snapshot } from './raft/types.ts';
import { EMPTY_CONF_STATE } from './raft/types.ts';
import { Wal, type WalOptions } from './wal.ts';

const RECORD_VERSION = 1;
enum Kind {
  Entries = 1,
  HardState = 2,
  Snapshot = 3,
  Created = 4,
  Compact = 5,
  Bootstrap = 6,
  Checkpoint = 7,
}
const MiB = 1024 * 1024;
const REPLAY_BATCH_BYTES = 16 * MiB;

export interface RaftJournalOptions {
  /** Appended bytes after which the journal rewrites live state and drops old segments. Default 256 MiB. */
  checkpoint_bytes?: number;
  /** Journal segment size. Default 32 MiB. */
  segment_bytes_max?: number;
  /** Passed to the Wal (tests: simulate I/O errors). */
  beforeSync?: WalOptions['beforeSync'];
}

/** What a Ready asks to persist, in the contract's order. */
export interface RaftPersist {
  readonly snapshot?: Snapshot | undefined;
  readonly entries: readonly Entry[];
  readonly hardState?: HardState | undefined;
}

export class RaftJournal {
  readonly #wal: Wal;
  readonly #groups = new Map<string, MemoryRaftStorage>();
  readonly #checkpointBytes: number;
  #bytesSinceCheckpoint = 0;
  /** Persists in flight; a checkpoint waits for them and holds new ones. */
  #inflight = 0;
  #gate: Promise<void> | undefined;
  #idle: (() => void) | undefined;

  private constructor(wal: Wal, opts: RaftJournalOptions) {
    this.#wal = wal;
    this.#checkpointBytes = opts.checkpoint_bytes ?? 256 * MiB;
  }

  /** Open (creating) the journal in `dir` and replay it. */
  static async open(dir: string, opts: RaftJournalOptions = {}): Promise<RaftJournal> {
    const wal = await Wal.open(join(dir), {
      segment_bytes_max: opts.segment_bytes_max ?? 32 * MiB,
      tail_cache_bytes_max: 0,
      pending_bytes_max: 256 * MiB,
      record_bytes_max: 64 * MiB,
      beforeSync: opts.beforeSync,
    });
    const j = new RaftJournal(wal, opts);
    try {
      await j.#replay();
    } catch (err) {
      await wal.close();
      throw err;
    }
    return j;
  }

  /** What the Wal's recovery found (torn tail cut, …). */
  get recovery(): Wal['recovery'] {
    return this.#wal.recovery;
  }

  /** Groups with state in the journal. */
  groups(): string[] {
    return [...this.#groups.keys()];
  }

  has(group: string): boolean {
    return this.#groups.has(group);
  }

  /** The group's storage for RaftNode (reads only; writes go through this journal). */
  storage(group: string): RaftStorage {
    const s = this.#groups.get(group);
    if (s === undefined) throw new KisekiError('KISEKI_E_NOENT', `raft group ${group} has no journal state`);
    return s;
  }

  /**
   * Create a group durably with its founding configuration (EMPTY for a node that joins and
   * learns membership from the leader). No-op when the group exists.
   */
  async bootstrap(group: string, conf: ConfState = EMPTY_CONF_STATE): Promise<RaftStorage> {
    const existing = this.#groups.get(group);
    if (existing !== undefined) return existing;
    const w = header(Kind.Bootstrap, group);
    writeConf(w, conf);
    await this.#append([Buffer.from(w.finish())]);
    const s = new MemoryRaftStorage(conf);
    this.#groups.set(group, s);
    return s;
  }

  /** Durably persist a Ready's snapshot, entries and hard state; then they are readable. */
  async persist(group: string, p: RaftPersist): Promise<void> {
    const s = this.#must(group);
    const recs: Buffer[] = [];
    if (p.snapshot !== undefined) {
      const w = header(Kind.Snapshot, group);
      writeSnapshot(w, p.snapshot);
      recs.push(Buffer.from(w.finish()));
    }
    if (p.entries.length > 0) {
      const w = header(Kind.Entries, group);
      w.u32(p.entries.length);
      for (const e of p.entries) writeEntry(w, e);
      recs.push(Buffer.from(w.finish()));
    }
    if (p.hardState !== undefined) {
      const w = header(Kind.HardState, group);
      writeHardState(w, p.hardState);
      recs.push(Buffer.from(w.finish()));
    }
    if (recs.length === 0) return;
    await this.#append(recs);
    if (p.snapshot !== undefined) s.applySnapshot(p.snapshot);
    s.append(p.entries);
    if (p.hardState !== undefined) s.setHardState(p.hardState);
  }

  /** Record a snapshot of the application at `index` (≤ applied), durably. */
  async createSnapshot(group: string, index: Index, conf: ConfState, data: Uint8Array): Promise<Snapshot> {
    const s = this.#must(group);
    const w = header(Kind.Created, group);
    w.u53(index);
    writeConf(w, conf);
    w.bytes(data);
    await this.#append([Buffer.from(w.finish())]);
    return s.createSnapshot(index, conf, data);
  }

  /** Drop the group's entries at or below `index` (≤ its snapshot index). */
  async compact(group: string, index: Index): Promise<void> {
    const s = this.#must(group);
    if (index <= s.firstIndex() - 1) return;
    const w = header(Kind.Compact, group);
    w.u53(index);
    await this.#append([Buffer.from(w.finish())]);
    s.compact(index);
  }

  async close(): Promise<void> {
    await this.#gate;
    await this.#wal.close();
  }

  /** Bytes appended since the last checkpoint (metrics, tests). */
  get bytesSinceCheckpoint(): number {
    return this.#bytesSinceCheckpoint;
  }

  /**
   * Rewrite every group's live state and drop the segments before it. Runs by itself once
   * `checkpoint_bytes` were appended; exposed for tests.
   */
  async checkpoint(): Promise<void> {
    if (this.#gate !== undefined) return this.#gate;
    let open!: () => void;
    this.#gate = new Promise<void>((r) => {
      open = r;
    });
    try {
      if (this.#inflight > 0) await new Promise<void>((r) => (this.#idle = r));
      const recs: Buffer[] = [];
      for (const [group, s] of this.#groups) {
        // Rebuilt as: the compaction point (as if a snapshot there), the entries after it, then
        // the latest snapshot (at or above the compaction point), then the hard state.
        const snap = s.snapshot();
        const offset = s.firstIndex() - 1;
        const b = header(Kind.Bootstrap, group);
        writeConf(b, snap.metadata.index === 0 ? snap.metadata.conf : EMPTY_CONF_STATE);
        recs.push(Buffer.from(b.finish()));
        if (offset > 0) {
          const w = header(Kind.Snapshot, group);
          const at =
            offset === snap.metadata.index
              ? snap
              : {
                  metadata: {
                    index: offset as Index,
                    term: s.term(offset as Index),
                    conf: snap.metadata.conf,
                  },
                  data: new Uint8Array(0),
                };
          writeSnapshot(w, at);
          recs.push(Buffer.from(w.finish()));
        }
        if (s.lastIndex() > offset) {
          const ents = s.entries(
            (offset + 1) as Index,
            (s.lastIndex() + 1) as Index,
            Number.POSITIVE_INFINITY,
          );
          const w = header(Kind.Entries, group);
          w.u32(ents.length);
          for (const e of ents) writeEntry(w, e);
          recs.push(Buffer.from(w.finish()));
        }
        if (snap.metadata.index > offset) {
          const w = header(Kind.Created, group);
          w.u53(snap.metadata.index);
          writeConf(w, snap.metadata.conf);
          w.bytes(snap.data);
          recs.push(Buffer.from(w.finish()));
        }
        const h = header(Kind.HardState, group);
        writeHardState(h, s.hardState());
        recs.push(Buffer.from(h.finish()));
      }
      const first = this.#wal.lastSeq + 1;
      const seqs = recs.length > 0 ? await this.#wal.append(recs) : [];
      invariant(seqs.length === 0 || seqs[0] === first, 'checkpoint batch is contiguous from its first seq');
      const done = header(Kind.Checkpoint, '');
      done.u53(first);
      await this.#wal.append([Buffer.from(done.finish())]);
      this.#bytesSinceCheckpoint = 0;
      if (first > 1) await this.#wal.truncatePrefix((first - 1) as Seq);
    } finally {
      this.#gate = undefined;
      open();
    }
  }

  #must(group: string): MemoryRaftStorage {
    const s = this.#groups.get(group);
    if (s === undefined) throw new KisekiError('KISEKI_E_NOENT', `raft group ${group} is not bootstrapped`);
    return s;
  }

  async #append(recs: Buffer[]): Promise<void> {
    while (this.#gate !== undefined) await this.#gate;
    this.#inflight++;
    try {
      await this.#wal.append(recs);
    } finally {
      this.#inflight--;
      if (this.#inflight === 0 && this.#idle !== undefined) {
        const idle = this.#idle;
        this.#idle = undefined;
        idle();
      }
    }
    for (const r of recs) this.#bytesSinceCheckpoint += r.length;
    if (this.#bytesSinceCheckpoint >= this.#checkpointBytes && this.#gate === undefined) {
      void this.checkpoint().catch(() => {}); // a failed checkpoint fails the Wal: later appends say so
    }
  }

  async #replay(): Promise<void> {
    const wal = this.#wal;
    const last = wal.lastSeq;
    // Pass 1: the last checkpoint's first seq.
    let from = wal.firstSeq as number;
    const all: { seq: number; payload: Uint8Array }[] = [];
    for (let at = from; at <= last; ) {
      const batch = await wal.read(at as Seq, last, REPLAY_BATCH_BYTES);
      for (const e of batch) all.push({ seq: e.seq, payload: e.payload });
      at = batch[batch.length - 1]!.seq + 1;
    }
    for (const e of all) {
      const r = new ByteReader(Buffer.from(e.payload), `raft journal record ${e.seq}`);
      if (r.u8() !== RECORD_VERSION) continue;
      if (r.u8() === Kind.Checkpoint) {
        r.str();
        from = r.u53();
      }
    }
    for (const e of all) {
      if (e.seq < from) continue;
      this.#replayOne(e.seq, Buffer.from(e.payload));
    }
  }

  #replayOne(seq: number, buf: Buffer): void {
    const r = new ByteReader(buf, `raft journal record ${seq}`);
    const v = r.u8();
    if (v !== RECORD_VERSION) {
      throw new KisekiError('KISEKI_E_CORRUPT', `raft journal record ${seq}: version ${v} is unknown`);
    }
    const kind = r.u8() as Kind;
    const group = r.str();
    if (kind === Kind.Checkpoint) return;
    if (kind === Kind.Bootstrap) {
      this.#groups.set(group, new MemoryRaftStorage(readConf(r)));
      r.end();
      return;
    }
    const s = this.#groups.get(group);
    if (s === undefined) {
      throw new KisekiError(
        'KISEKI_E_CORRUPT',
        `raft journal record ${seq}: group ${group} was never bootstrapped`,
      );
    }
    switch (kind) {
      case Kind.Entries: {
        const n = r.u32();
        const ents: Entry[] = [];
        for (let i = 0; i < n; i++) ents.push(readEntry(r));
        s.append(ents);
        break;
      }
      case Kind.HardState:
        s.setHardState(readHardState(r));
        break;
      case Kind.Snapshot: {
        const snap = readSnapshot(r);
        if (snap.metadata.index > s.snapshot().metadata.index) s.applySnapshot(snap);
        break;
      }
      case Kind.Created: {
        const index = r.u53() as Index;
        const conf = readConf(r);
        s.createSnapshot(index, conf, r.bytes());
        break;
      }
      case Kind.Compact:
        s.compact(r.u53() as Index);
        break;
      default:
        throw new KisekiError('KISEKI_E_CORRUPT', `raft journal record ${seq}: kind ${kind} is unknown`);
    }
    r.end();
  }
}

function header(kind: Kind, group: string): ByteWriter {
  return new ByteWriter(128).u8(RECORD_VERSION).u8(kind).str(group);
}
