/**
 * A ShardLog replicated by Raft: one Raft group per shard, its Ready loop (the shell of
 * RaftNode's ordering contract) and the shard's applied delta log.
 *
 * Two logs per shard on a node:
 * - the Raft log, in the node's journal (raft-journal.ts): what is replicated and committed
 *   (I-L2: a delta is acknowledged only once a majority of voters has it durably);
 * - the applied delta log, a local Wal with dense seqs from 1 (SingleReplicaLog): committed
 *   deltas in commit order, what views and audit read, watch and compact by watermarks (I-L4).
 *   Each record's Wal `term` is the Raft index of the entry it came from, so after a restart the
 *   node knows which entries it applied; no-op and conf-change entries carry no delta. It is
 *   written without an fdatasync per batch (the journal is the durable copy): after a crash,
 *   entries above its last surviving record are applied again from the journal, and it is synced
 *   before the journal drops entries.
 * A delta's seq is therefore the count of deltas up to its entry: the same on every replica.
 *
 * Snapshots: the state machine is the applied delta log, so a Raft snapshot carries only the delta
 * count at its index. A follower that installs one first fetches the deltas it lacks from the
 * sender's applied log, then persists the snapshot. Compacting the Raft log therefore never loses
 * a delta: it is in the applied log of every node that applied it.
 *
 * Writes are accepted by the leader only; elsewhere `append` fails with KISEKI_E_UNAVAILABLE
 * naming the leader (a redirect). Reads are local; `readBarrier` gives a linearizable read point
 * (read index) for callers that need one.
 */

import { randomBytes } from 'node:crypto';
import { invariant, KisekiError, type Seq, type ShardId } from '@kiseki/proto';
import { ByteReader, ByteWriter } from './raft/codec.ts';
import { type RaftNode, type Ready, refusalError } from './raft/raft-node.ts';
import { compactionIndex } from './raft/storage.ts';
import type { Entry, HardState, Index, NodeId, Snapshot, Term } from './raft/types.ts';
import type { RaftJournal } from './raft-journal.ts';
import type { LogEntry, LogSink, ShardLog, SingleReplicaLog } from './shard-log.ts';

/** What a shard's Raft group needs from the node around it. */
export interface RaftGroupHost {
  readonly journal: RaftJournal;
  send(group: string, msgs: Ready['messages']): void;
  /** Deltas (from, to] of `group` from `peer`'s applied log, to install a snapshot. */
  fetchDeltas(peer: NodeId, group: string, from: Seq, to: Seq): Promise<FetchedDelta[]>;
  /** "node N at host:port" for redirects. */
  describe(id: NodeId): string;
  readonly logger: LogSink;
}

export interface FetchedDelta {
  readonly seq: Seq;
  /** Raft index of the entry the delta came from. */
  readonly index: Index;
  readonly payload: Uint8Array;
}

export interface RaftShardLogOptions {
  /** Applied entries kept in the Raft log after a compaction (for briefly lagging followers). Default 10000. */
  retain_entries?: number;
  /** Compact the Raft log once this many applied entries are above its first index. Default 50000. */
  compact_after_entries?: number;
  /** How long a proposal waits for its commit before KISEKI_E_TIMEOUT (outcome unknown). Default 10000. */
  propose_timeout_ms?: number;
  /** How long a read barrier waits. Default 5000. */
  read_timeout_ms?: number;
}

interface Proposal {
  readonly term: Term;
  readonly resolve: (seq: Seq) => void;
  readonly reject: (err: unknown) => void;
}

const SNAPSHOT_DATA_VERSION = 1;

export function encodeSnapshotData(deltaSeq: number): Uint8Array {
  return new ByteWriter(16).u8(SNAPSHOT_DATA_VERSION).u53(deltaSeq).finish();
}

export function decodeSnapshotData(data: Uint8Array): number {
  if (data.byteLength === 0) return 0;
  const r = new ByteReader(Buffer.from(data), 'raft snapshot data');
  const v = r.u8();
  if (v !== SNAPSHOT_DATA_VERSION)
    throw new KisekiError('KISEKI_E_CORRUPT', `raft snapshot data version ${v}`);
  const seq = r.u53();
  r.end();
  return seq;
}

export class RaftShardLog implements ShardLog {
  readonly shardId: ShardId;
  readonly raft: RaftNode;
  readonly applied: SingleReplicaLog;
  readonly #host: RaftGroupHost;
  readonly #opts: Required<RaftShardLogOptions>;
  /** Raft index of the last entry handed to the applied log (assigned, maybe not durable). */
  #appliedIndex: number;
  /** Seq given to the last delta handed to the applied log. */
  #assignedSeq: number;
  /** Raft index and seq of the last delta durable in the applied log. */
  #durable: { index: number; seq: number };
  readonly #proposals = new Map<number, Proposal>();
  readonly #reads = new Map<string, (index: Index) => void>();
  /** Read points waiting for the applied log to reach their index. */
  #readWaiters: { index: number; resolve: () => void }[] = [];
  #running = false;
  #again = false;
  #scheduled = false;
  #closed = false;
  #failed: Error | undefined;
  #snapshotFrom: NodeId | undefined;
  #applying: Promise<unknown> = Promise.resolve();
  /** The hard state last written, and the one whose term and vote are durable. */
  #lastHs: HardState;
  #syncedHs: HardState;

  constructor(
    shard: ShardId,
    raft: RaftNode,
    applied: SingleReplicaLog,
    host: RaftGroupHost,
    opts: RaftShardLogOptions = {},
  ) {
    this.shardId = shard;
    this.raft = raft;
    this.applied = applied;
    this.#host = host;
    this.#opts = {
      retain_entries: opts.retain_entries ?? 10_000,
      compact_after_entries: opts.compact_after_entries ?? 50_000,
      propose_timeout_ms: opts.propose_timeout_ms ?? 10_000,
      read_timeout_ms: opts.read_timeout_ms ?? 5_000,
    };
    this.#appliedIndex = applied.wal.lastTerm;
    this.#durable = { index: applied.wal.lastTerm, seq: applied.wal.lastSeq };
    this.#assignedSeq = applied.wal.lastSeq;
    this.#lastHs = host.journal.storage(shard).hardState();
    this.#syncedHs = this.#lastHs;
  }

  /** Raft index of the last entry whose delta is in the applied log; RaftNode's `applied` at start. */
  static appliedIndexOf(applied: SingleReplicaLog): number {
    return applied.wal.lastTerm;
  }

  get group(): string {
    return this.shardId;
  }

  // ------------------------------------------------------------------ inputs from the host

  step(m: Parameters<RaftNode['step']>[0]): void {
    if (this.#closed) return;
    if (m.type === 'snapshot') this.#snapshotFrom = m.from;
    this.raft.step(m);
    this.schedule();
  }

  tick(): void {
    if (this.#closed) return;
    this.raft.tick();
    this.schedule();
  }

  /** Run the Ready loop soon (coalesced). */
  schedule(): void {
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#run();
    });
  }

  // ------------------------------------------------------------------ ShardLog

  async append(deltas: Uint8Array[], _signal?: AbortSignal): Promise<Seq[]> {
    this.#checkOpen();
    if (deltas.length === 0) return [];
    for (const d of deltas) {
      if (d.byteLength === 0) throw new KisekiError('KISEKI_E_INVAL', 'an empty delta cannot be appended');
    }
    const res = this.raft.proposeMany(deltas);
    if (!res.ok) throw this.#refusal(res.refusal, res.leader);
    const first = res.index - deltas.length + 1;
    const waits: Promise<Seq>[] = [];
    for (let i = first; i <= res.index; i++) {
      waits.push(
        new Promise<Seq>((resolve, reject) => this.#proposals.set(i, { term: res.term, resolve, reject })),
      );
    }
    this.schedule();
    const timer = setTimeout(() => {
      for (let i = first; i <= res.index; i++) {
        const p = this.#proposals.get(i);
        if (p === undefined || p.term !== res.term) continue;
        this.#proposals.delete(i);
        p.reject(
          new KisekiError(
            'KISEKI_E_TIMEOUT',
            `shard ${this.shardId}: delta at raft index ${i} not committed within ${this.#opts.propose_timeout_ms} ms; it may still commit`,
          ),
        );
      }
    }, this.#opts.propose_timeout_ms);
    try {
      return await Promise.all(waits);
    } finally {
      clearTimeout(timer);
    }
  }

  read(from: Seq, to: Seq, maxBytes?: number): Promise<LogEntry[]> {
    return this.applied.read(from, to, maxBytes);
  }

  committedSeq(): Seq {
    return this.applied.committedSeq();
  }

  watch(from: Seq, signal: AbortSignal): AsyncIterable<LogEntry> {
    return this.applied.watch(from, signal);
  }

  registerConsumer(name: string, watermark: Seq): Promise<void> {
    return this.applied.registerConsumer(name, watermark);
  }

  advanceConsumer(name: string, watermark: Seq): Promise<void> {
    return this.applied.advanceConsumer(name, watermark);
  }

  compact(): Promise<{ removedUpTo: Seq }> {
    return this.applied.compact();
  }

  /**
   * A linearizable read point (read index): resolves with a seq such that every delta committed
   * before the call is at or below it and in the applied log.
   */
  async readBarrier(): Promise<Seq> {
    this.#checkOpen();
    const ctx = randomBytes(12).toString('base64url');
    const index = await new Promise<Index>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#reads.delete(ctx);
        reject(
          new KisekiError(
            'KISEKI_E_TIMEOUT',
            `shard ${this.shardId}: no read index within ${this.#opts.read_timeout_ms} ms`,
          ),
        );
      }, this.#opts.read_timeout_ms);
      this.#reads.set(ctx, (i) => {
        clearTimeout(timer);
        resolve(i);
      });
      const r = this.raft.readIndex(ctx);
      if (!r.ok) {
        clearTimeout(timer);
        this.#reads.delete(ctx);
        reject(this.#refusal(r.refusal, r.leader));
        return;
      }
      this.schedule();
    });
    await this.#durableAt(index);
    return this.applied.committedSeq();
  }

  async close(): Promise<void> {
    this.#closed = true;
    while (this.#running) await new Promise((r) => setTimeout(r, 5));
    await this.#applying.catch(() => {});
    const err = new KisekiError('KISEKI_E_UNAVAILABLE', `shard ${this.shardId} is closing`);
    for (const p of this.#proposals.values()) p.reject(err);
    this.#proposals.clear();
    await this.applied.close();
  }

  /** Resolves once every entry up to Raft index `index` is applied (its delta in the applied log). */
  whenApplied(index: number): Promise<void> {
    return this.#durableAt(index);
  }

  /** Deltas (from, to] with their Raft indexes, for a peer installing a snapshot. */
  async fetch(from: Seq, to: Seq, maxBytes: number): Promise<FetchedDelta[]> {
    const ents = await this.applied.wal.read(from, to, maxBytes);
    return ents.map((e) => ({ seq: e.seq, index: e.term as Index, payload: e.payload }));
  }

  // ------------------------------------------------------------------ the Ready loop

  async #run(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    try {
      do {
        this.#again = false;
        while (!this.#closed && this.#failed === undefined && this.raft.hasReady()) {
          await this.#handle(this.raft.ready());
        }
      } while (this.#again && !this.#closed);
    } catch (err) {
      // A journal or applied-log write failed: the node can no longer keep its promises for
      // this shard. Fail closed; a restart recovers from what is durable.
      this.#failed = err as Error;
      this.#host.logger.error({ shard: this.shardId, err }, 'raft group failed; restart the node');
      for (const p of this.#proposals.values()) p.reject(err);
      this.#proposals.clear();
    } finally {
      this.#running = false;
    }
  }

  async #handle(rd: Ready): Promise<void> {
    const journal = this.#host.journal;
    if (rd.snapshot !== undefined) await this.#prepareSnapshot(rd.snapshot);
    // 1. Persist. A commit-only hard-state change is written with the next entries instead:
    //    losing the commit index in a crash is safe, and it saves an fdatasync per commit.
    const hs = rd.hardState;
    const mustSync =
      rd.snapshot !== undefined ||
      rd.entries.length > 0 ||
      (hs !== undefined && (hs.term !== this.#syncedHs.term || hs.vote !== this.#syncedHs.vote));
    // A leader's appends may leave before its own entries are durable (Raft thesis §10.2.1), so
    // that its fdatasync and the followers' overlap: nothing they carry can be applied or
    // acknowledged before this Ready is persisted, since the commit that covers them reaches a
    // client, this node's applied log and the followers only through a later Ready. Everything
    // else (votes, responses, term changes) waits for the sync as the ordering contract says.
    let sent = false;
    const sameTerm = hs === undefined || (hs.term === this.#syncedHs.term && hs.vote === this.#syncedHs.vote);
    if (mustSync && this.raft.role === 'leader' && rd.snapshot === undefined && sameTerm) {
      const appends = rd.messages.filter((m) => m.type === 'append');
      if (appends.length === rd.messages.length) {
        this.#host.send(this.group, appends);
        sent = true;
      }
    }
    if (mustSync) {
      await journal.persist(this.group, {
        snapshot: rd.snapshot,
        entries: rd.entries,
        hardState: hs ?? this.#lastHs,
      });
      this.#syncedHs = hs ?? this.#lastHs;
    }
    if (hs !== undefined) this.#lastHs = hs;
    // 2. Send.
    if (!sent && rd.messages.length > 0) this.#host.send(this.group, rd.messages);
    // 3. Apply.
    if (rd.snapshot !== undefined) {
      const idx = rd.snapshot.metadata.index;
      this.#appliedIndex = Math.max(this.#appliedIndex, idx);
      for (const [i, p] of this.#proposals) {
        if (i <= idx) {
          this.#proposals.delete(i);
          p.reject(
            new KisekiError(
              'KISEKI_E_UNAVAILABLE',
              `shard ${this.shardId}: outcome unknown (replaced by a snapshot); check and retry`,
            ),
          );
        }
      }
      this.#noteDurable(idx, this.applied.wal.lastSeq);
    }
    for (const e of rd.committedEntries) this.#apply(e);
    for (const rs of rd.readStates) {
      const done = this.#reads.get(rs.context);
      if (done !== undefined) {
        this.#reads.delete(rs.context);
        done(rs.index);
      }
    }
    this.raft.advance(rd);
    if (rd.softState !== undefined && rd.softState.role !== 'leader') this.#failLostProposals();
    await this.#maybeCompact();
  }

  #apply(e: Entry): void {
    const p = this.#proposals.get(e.index);
    if (p !== undefined) this.#proposals.delete(e.index);
    if (p !== undefined && p.term !== e.term) {
      p.reject(
        new KisekiError(
          'KISEKI_E_UNAVAILABLE',
          `shard ${this.shardId}: leadership changed before the delta committed; retry`,
        ),
      );
    }
    const mine = p !== undefined && p.term === e.term ? p : undefined;
    if (e.index <= this.#appliedIndex) {
      // Already in the applied log (applied before a restart whose commit index was older).
      mine?.reject(
        new KisekiError('KISEKI_E_UNAVAILABLE', `shard ${this.shardId}: outcome unknown; check and retry`),
      );
      return;
    }
    this.#appliedIndex = e.index;
    if (e.type !== 'normal' || e.data.byteLength === 0) {
      this.#applying = this.#applying.then(() => this.#noteDurable(e.index, this.#durable.seq));
      return;
    }
    // The entry is committed: durable on a majority of voters' journals (I-L2), so the proposer is
    // answered now; its seq is fixed by the log. Readers see it once the applied log has it.
    const seq = ++this.#assignedSeq;
    mine?.resolve(seq as Seq);
    const done = this.applied.wal.append([e.data], e.index);
    this.#applying = this.#applying
      .then(() => done)
      .then(
        ([got]) => {
          invariant(got === seq, `applied delta got seq ${got}, expected ${seq}`);
          this.#noteDurable(e.index, seq);
        },
        (err) => {
          this.#failed ??= err as Error;
        },
      );
  }

  #noteDurable(index: number, seq: number): void {
    if (index > this.#durable.index) this.#durable = { index, seq };
    if (this.#readWaiters.length === 0) return;
    const keep: { index: number; resolve: () => void }[] = [];
    for (const w of this.#readWaiters) {
      if (w.index <= this.#durable.index) w.resolve();
      else keep.push(w);
    }
    this.#readWaiters = keep;
  }

  #durableAt(index: number): Promise<void> {
    if (index <= this.#durable.index) return Promise.resolve();
    return new Promise((resolve) => this.#readWaiters.push({ index, resolve }));
  }

  #failLostProposals(): void {
    // A follower's own pending proposals may still commit (the new leader may keep them); they
    // settle when the entry at their index is applied, or time out.
  }

  async #prepareSnapshot(snap: Snapshot): Promise<void> {
    await this.#applying;
    const want = decodeSnapshotData(snap.data);
    let have = this.applied.wal.lastSeq as number;
    const from = this.#snapshotFrom;
    while (have < want) {
      if (from === undefined) throw new KisekiError('KISEKI_E_UNAVAILABLE', 'snapshot sender unknown');
      const got = await this.#host.fetchDeltas(from, this.group, (have + 1) as Seq, want as Seq);
      if (got.length === 0) {
        throw new KisekiError(
          'KISEKI_E_UNAVAILABLE',
          `shard ${this.shardId}: ${this.#host.describe(from)} sent no deltas from ${have + 1}`,
        );
      }
      for (const d of got) {
        invariant(d.seq === have + 1, `fetched delta ${d.seq}, expected ${have + 1}`);
        const [seq] = await this.applied.wal.append(
          [d.payload],
          Math.max(d.index, this.applied.wal.lastTerm),
        );
        invariant(seq === d.seq, 'fetched delta stored at its seq');
        have = seq!;
      }
    }
    this.#assignedSeq = Math.max(this.#assignedSeq, have);
    // Durable before the snapshot (which replaces the entries) goes into the journal.
    await this.applied.wal.sync();
    this.#host.logger.info(
      { shard: this.shardId, index: snap.metadata.index, deltas: want },
      'raft snapshot installed: applied log caught up from the leader',
    );
  }

  async #maybeCompact(): Promise<void> {
    // Everything is read before the first await: steps run between awaits and may replace the
    // Raft log with a snapshot from the leader.
    const storage = this.#host.journal.storage(this.group);
    const durable = this.#durable.index;
    if (durable - storage.firstIndex() < this.#opts.compact_after_entries) return;
    const at = Math.min(durable, this.raft.status().applied) as Index;
    const upto = compactionIndex({
      applied: at,
      // The Raft log's consumers are the applied log: everything durable there may go.
      consumers_min: durable as Index,
      retain_entries: this.#opts.retain_entries,
    });
    if (upto <= storage.firstIndex()) return;
    if (at <= storage.snapshot().metadata.index) return;
    // A snapshot from the leader is being installed past `at`: nothing to compact here.
    if (at < this.raft.firstIndex() - 1) return;
    const conf = this.raft.confStateAt(at);
    const data = encodeSnapshotData(this.#seqAt(at));
    // The journal may drop these entries only once their deltas are durable in the applied log.
    await this.applied.wal.sync();
    await this.#host.journal.createSnapshot(this.group, at, conf, data);
    await this.#host.journal.compact(this.group, upto);
  }

  /** Seq of the last delta at or below Raft index `at` (at ≤ durable index). */
  #seqAt(at: number): number {
    invariant(at <= this.#durable.index, 'snapshot only at a durable applied index');
    // Every delta up to the durable index is in the applied log; those above `at` must be excluded.
    return this.#durable.index === at ? this.#durable.seq : this.#countUpTo(at);
  }

  #countUpTo(at: number): number {
    // Only called when the durable index moved past `at` since; take the durable seq minus the
    // deltas of entries in (at, durable]. They are still in the Raft log (not compacted yet).
    let seq = this.#durable.seq;
    const ents = this.raft.entries((at + 1) as Index, (this.#durable.index + 1) as Index);
    for (const e of ents) if (e.type === 'normal' && e.data.byteLength > 0) seq--;
    return seq;
  }

  #refusal(refusal: Parameters<typeof refusalError>[0], leader: NodeId): KisekiError {
    const err = refusalError(refusal, leader);
    if (refusal === 'not-leader' && leader !== 0) {
      return new KisekiError(
        'KISEKI_E_UNAVAILABLE',
        `not the leader of shard ${this.shardId}; the leader is ${this.#host.describe(leader)}: send writes there`,
      );
    }
    return err;
  }

  #checkOpen(): void {
    if (this.#failed !== undefined) throw this.#failed;
    if (this.#closed) throw new KisekiError('KISEKI_E_UNAVAILABLE', `shard ${this.shardId} is closed`);
  }
}
