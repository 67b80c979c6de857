/**
 * Every Raft group of one node: the node's journal (one Wal for all groups), the transport
 * (one gRPC port, batched per peer), the clock that ticks every group, and the node-to-node
 * requests (delta fetch for snapshots, admin operations routed to a group's leader).
 *
 * Membership: a group is bootstrapped with the founding voters (`peers`) unless the node
 * `join`s, in which case it starts with no configuration and learns it from the leader once an
 * admin adds it (`kiseki node add`). A single node with no peers is a one-voter group that
 * elects itself at once.
 */

import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import {
  encodeRaftAdmin,
  KisekiError,
  RAFT_CALL_ADMIN,
  RAFT_CALL_FETCH,
  type RaftAdminRequest,
  type RaftGroupStatus,
  type RaftNodeStatus,
  type Seq,
  type ShardId,
} from '@kiseki/proto';
import { ByteReader, ByteWriter, type GroupMessage } from './raft/codec.ts';
import { canonicalConf } from './raft/conf-change.ts';
import { RaftNode } from './raft/raft-node.ts';
import { EMPTY_CONF_STATE, type Index, type Message, NO_NODE, type NodeId } from './raft/types.ts';
import { RaftJournal } from './raft-journal.ts';
import {
  type FetchedDelta,
  type RaftGroupHost,
  RaftShardLog,
  type RaftShardLogOptions,
} from './raft-shard-log.ts';
import { RaftTransport } from './raft-transport.ts';
import { type LogSink, SingleReplicaLog, type SingleReplicaLogOptions } from './shard-log.ts';
import { formatWalRecovery } from './wal-recovery.ts';

export interface RaftHostOptions {
  /** Journal directory (<home>/raft). */
  readonly dir: string;
  readonly self: NodeId;
  readonly selfAddress: string;
  /** Founding voters and where they listen (may include self). Empty: a one-node cluster. */
  readonly peers: ReadonlyMap<NodeId, string>;
  /** Start groups with no configuration: this node waits to be added. */
  readonly join: boolean;
  readonly token: string;
  readonly caCert: Buffer;
  readonly authenticate: (md: grpc.Metadata) => void;
  readonly logger: LogSink;
  /** Milliseconds per Raft tick. Default 100 (heartbeat every tick, elections after 10–20). */
  readonly tick_ms?: number;
  readonly election_ticks?: number;
  readonly shard?: RaftShardLogOptions;
}

/** How long opening a shard waits for its committed entries to be applied. */
const OPEN_CATCH_UP_MS = 30_000;
const FETCH_BYTES_MAX = 8 * 1024 * 1024;
const CALL_TIMEOUT_MS = 10_000;

export class RaftHost implements RaftGroupHost {
  readonly journal: RaftJournal;
  readonly transport: RaftTransport;
  readonly logger: LogSink;
  readonly #o: RaftHostOptions;
  readonly #groups = new Map<string, RaftShardLog>();
  readonly #timer: NodeJS.Timeout;

  private constructor(o: RaftHostOptions, journal: RaftJournal) {
    this.#o = o;
    this.logger = o.logger;
    this.journal = journal;
    this.transport = new RaftTransport({
      self: o.self,
      selfAddress: o.selfAddress,
      token: o.token,
      caCert: o.caCert,
      authenticate: o.authenticate,
      onMessages: (msgs) => this.#deliver(msgs),
      onCall: (from, req) => this.#onCall(from, req),
      onUnreachable: (peer) => {
        for (const g of this.#groups.values()) g.raft.reportUnreachable(peer);
      },
      warn: (obj, msg) => o.logger.warn(obj, msg),
    });
    for (const [id, addr] of o.peers) this.transport.setPeer(id, addr);
    this.#timer = setInterval(() => {
      for (const g of this.#groups.values()) g.tick();
    }, o.tick_ms ?? 100);
  }

  static async open(o: RaftHostOptions): Promise<RaftHost> {
    const journal = await RaftJournal.open(join(o.dir, 'journal'));
    const r = journal.recovery;
    if (r.outcome !== 'clean') o.logger.warn({ dir: o.dir, ...r }, `raft journal: ${formatWalRecovery(r)}`);
    return new RaftHost(o, journal);
  }

  get self(): NodeId {
    return this.#o.self;
  }

  /** Open (bootstrapping if new) the Raft group of `shard`, with its applied log in `dir`. */
  async openShard(
    shard: ShardId,
    dir: string,
    appliedOpts: SingleReplicaLogOptions = {},
  ): Promise<RaftShardLog> {
    const existing = this.#groups.get(shard);
    if (existing !== undefined) return existing;
    // The applied log is rebuilt from the journal after a crash, so it needs no fdatasync per
    // batch: it is synced before the journal drops entries (RaftShardLog) and at close.
    const applied = await SingleReplicaLog.open(
      shard,
      dir,
      { ...appliedOpts, sync_each_batch: false },
      this.logger,
    );
    try {
      const voters = this.#o.peers.size === 0 ? [this.#o.self] : [...this.#o.peers.keys()];
      const storage = this.journal.has(shard)
        ? this.journal.storage(shard)
        : await this.journal.bootstrap(shard, this.#o.join ? EMPTY_CONF_STATE : canonicalConf(voters, []));
      const snapIndex = storage.snapshot().metadata.index;
      const committed = Math.max(storage.hardState().commit, snapIndex);
      const appliedIndex = Math.max(Math.min(RaftShardLog.appliedIndexOf(applied), committed), snapIndex);
      const raft = new RaftNode({
        id: this.#o.self,
        storage,
        random_int: (n) => Math.floor(Math.random() * n),
        election_ticks: this.#o.election_ticks ?? 10,
        heartbeat_ticks: 1,
        applied: appliedIndex as Index,
      });
      const log = new RaftShardLog(shard, raft, applied, this, this.#o.shard);
      this.#groups.set(shard, log);
      const conf = raft.conf;
      const alone = conf.voters.length === 1 && conf.voters[0] === this.#o.self;
      if (alone) raft.campaign();
      log.schedule();
      // Apply what is known committed before the shard serves, so that its applied log is not
      // behind what views saw before a restart. Alone, everything in the journal commits.
      const target = alone ? storage.lastIndex() : committed;
      const timer = new Promise<'late'>((r) => setTimeout(() => r('late'), OPEN_CATCH_UP_MS).unref());
      if ((await Promise.race([log.whenApplied(target), timer])) === 'late') {
        this.logger.warn({ shard, target }, 'raft group still applying committed entries; serving anyway');
      }
      return log;
    } catch (err) {
      await applied.close();
      throw err;
    }
  }

  group(name: string): RaftShardLog | undefined {
    return this.#groups.get(name);
  }

  send(group: string, msgs: readonly Message[]): void {
    this.transport.send(msgs.map((message) => ({ group, message })));
  }

  describe(id: NodeId): string {
    const a = this.transport.address(id);
    return a === undefined ? `node ${id}` : `node ${id} at ${a}`;
  }

  async fetchDeltas(peer: NodeId, group: string, from: Seq, to: Seq): Promise<FetchedDelta[]> {
    const w = new ByteWriter(64).u8(RAFT_CALL_FETCH).str(group).u53(from).u53(to);
    const res = await this.transport.call(peer, Buffer.from(w.finish()), CALL_TIMEOUT_MS);
    const r = new ByteReader(res, 'raft fetch reply');
    const n = r.u32();
    const out: FetchedDelta[] = [];
    for (let i = 0; i < n; i++) {
      const seq = r.u53() as Seq;
      const index = r.u53() as Index;
      out.push({ seq, index, payload: r.bytes() });
    }
    r.end();
    return out;
  }

  status(): RaftNodeStatus {
    const groups: RaftGroupStatus[] = [];
    for (const [name, g] of this.#groups) {
      const s = g.raft.status();
      groups.push({
        group: name,
        role: s.role,
        leader: s.leader,
        term: s.term,
        commit: s.commit,
        applied: s.applied,
        firstIndex: s.firstIndex,
        lastIndex: s.lastIndex,
        voters: [...s.conf.voters],
        learners: [...s.conf.learners],
        seq: g.committedSeq(),
        progress: [...s.progress].map(([node, p]) => ({ node, match: p.match, state: p.state })),
      });
    }
    return {
      node: this.#o.self,
      address: this.#o.selfAddress,
      peers: Object.fromEntries([...this.transport.peers()].map(([k, v]) => [String(k), v])),
      groups,
    };
  }

  /** Run an admin request here, or at the group's leader when it must run there. */
  async admin(req: RaftAdminRequest): Promise<unknown> {
    if (req.op === 'status') return this.status();
    const g = this.#groups.get(req.group);
    if (g === undefined)
      throw new KisekiError('KISEKI_E_NOENT', `no raft group ${req.group} on node ${this.self}`);
    if (req.op === 'conf' && req.address !== undefined) {
      this.transport.setPeer(req.node as NodeId, checkAddress(req.address));
    }
    if (req.op === 'barrier') return { seq: await g.readBarrier() };
    if (req.op === 'read') {
      const to = Math.min(req.to, g.committedSeq());
      if (req.from > to) return { entries: [] };
      const ents = await g.read(req.from as Seq, to as Seq, 4 * 1024 * 1024);
      return { entries: ents.map((e) => ({ seq: e.seq, data: Buffer.from(e.payload).toString('base64') })) };
    }
    if (g.raft.role !== 'leader') {
      const leader = g.raft.leader;
      if (leader === NO_NODE) {
        throw new KisekiError(
          'KISEKI_E_UNAVAILABLE',
          `raft group ${req.group} has no leader right now; retry shortly`,
        );
      }
      return this.#forward(leader, req);
    }
    switch (req.op) {
      case 'propose': {
        const seqs = await g.append(req.payloads.map((p) => Buffer.from(p, 'base64')));
        return { seqs };
      }
      case 'transfer-leader': {
        const r = g.raft.transferLeader(req.to as NodeId);
        if (!r.ok) throw new KisekiError('KISEKI_E_INVAL', `transfer-leader refused: ${r.refusal}`);
        g.schedule();
        return { ok: true };
      }
      case 'conf': {
        const r = g.raft.proposeConfChange({ kind: req.kind, node: req.node as NodeId });
        if (!r.ok)
          throw new KisekiError(
            r.refusal.startsWith('conf-change-learner') || r.refusal === 'conf-change-pending'
              ? 'KISEKI_E_BUSY'
              : 'KISEKI_E_INVAL',
            `membership change refused: ${r.refusal}`,
          );
        g.schedule();
        const deadline = Date.now() + CALL_TIMEOUT_MS;
        while (g.raft.committed < r.index) {
          if (Date.now() > deadline)
            throw new KisekiError('KISEKI_E_TIMEOUT', 'membership change not committed in time');
          await new Promise((res) => setTimeout(res, 20));
        }
        return { ok: true, index: r.index };
      }
    }
  }

  async #forward(leader: NodeId, req: RaftAdminRequest): Promise<unknown> {
    const res = await this.transport.call(leader, encodeRaftAdmin(req), CALL_TIMEOUT_MS);
    return JSON.parse(res.toString('utf8'));
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.transport.close();
    for (const g of this.#groups.values()) await g.close();
    this.#groups.clear();
    await this.journal.close();
  }

  #deliver(msgs: GroupMessage[]): void {
    for (const { group, message } of msgs) {
      const g = this.#groups.get(group);
      if (g === undefined || message.to !== this.self || message.from === this.self) continue;
      g.step(message);
    }
  }

  async #onCall(_from: NodeId, req: Buffer): Promise<Buffer> {
    if (req.length === 0) throw new KisekiError('KISEKI_E_INVAL', 'empty raft call');
    if (req[0] === RAFT_CALL_FETCH) {
      const r = new ByteReader(req.subarray(1), 'raft fetch');
      const group = r.str();
      const from = r.u53();
      const to = r.u53();
      r.end();
      const g = this.#groups.get(group);
      if (g === undefined)
        throw new KisekiError('KISEKI_E_NOENT', `no raft group ${group} on node ${this.self}`);
      if (from < 1 || to < from) throw new KisekiError('KISEKI_E_INVAL', `fetch range ${from}..${to}`);
      const ents = await g.fetch(from as Seq, Math.min(to, g.committedSeq()) as Seq, FETCH_BYTES_MAX);
      const w = new ByteWriter(1024).u32(ents.length);
      for (const e of ents) w.u53(e.seq).u53(e.index).bytes(e.payload);
      return Buffer.from(w.finish());
    }
    if (req[0] === RAFT_CALL_ADMIN) {
      let parsed: RaftAdminRequest;
      try {
        parsed = JSON.parse(req.subarray(1).toString('utf8')) as RaftAdminRequest;
      } catch {
        throw new KisekiError('KISEKI_E_INVAL', 'raft admin request is not JSON');
      }
      const res = await this.admin(checkAdmin(parsed));
      return Buffer.from(JSON.stringify(res));
    }
    throw new KisekiError('KISEKI_E_INVAL', `raft call kind ${req[0]} is unknown`);
  }
}

function checkAddress(a: string): string {
  if (typeof a !== 'string' || !/^[\w.-]{1,253}:\d{1,5}$/.test(a)) {
    throw new KisekiError('KISEKI_E_INVAL', `address ${JSON.stringify(a)}: use host:port`);
  }
  return a;
}

function checkAdmin(r: RaftAdminRequest): RaftAdminRequest {
  const bad = (what: string) => new KisekiError('KISEKI_E_INVAL', `raft admin request: ${what}`);
  if (typeof r !== 'object' || r === null) throw bad('not an object');
  switch (r.op) {
    case 'status':
      return r;
    case 'barrier':
    case 'read':
    case 'propose':
    case 'transfer-leader':
    case 'conf':
      if (typeof r.group !== 'string') throw bad('group must be a string');
      if (r.op === 'propose' && (!Array.isArray(r.payloads) || r.payloads.some((p) => typeof p !== 'string')))
        throw bad('payloads must be base64 strings');
      if (r.op === 'read' && !(Number.isSafeInteger(r.from) && r.from >= 1 && Number.isSafeInteger(r.to)))
        throw bad('read needs from ≥ 1 and to');
      if (r.op === 'transfer-leader' && !(Number.isSafeInteger(r.to) && r.to >= 1))
        throw bad('to must be a node id');
      if (r.op === 'conf') {
        if (!(Number.isSafeInteger(r.node) && r.node >= 1)) throw bad('node must be a node id');
        if (!['add-learner', 'promote', 'remove'].includes(r.kind)) throw bad(`kind ${r.kind}`);
      }
      return r;
    default:
      throw bad(`op ${(r as { op: unknown }).op}`);
  }
}
