/**
 * A deterministic simulation of a Raft cluster: every node is a RaftNode over MemoryRaftStorage,
 * and one seeded PRNG decides everything else — the order of events within a tick, message loss,
 * duplication, reordering and delay, symmetric and one-way partitions, crashes (which drop every
 * Ready not yet persisted, i.e. every write not yet fsynced), restarts from persisted state,
 * client puts and reads, leader transfers and membership changes under load.
 *
 * After every step the safety checkers (checkers.ts) run over every live node; at the end the
 * clients' history is checked for linearizability (linearizability.ts) and the cluster must have
 * converged once faults stopped. A failure throws SimulationFailure naming the seed and step;
 * `runSimulation({ seed })` with the same seed (and tick counts) replays it exactly.
 *
 * Time: a run is `fault_ticks` ticks with faults, then `quiet_ticks` without (healed, every node
 * up, no loss). Within a tick, these events run in a random order, each one a "step":
 * each live node's tick (skipped 3% of the time: clock drift), each due message's delivery, two
 * I/O slots per node (take a Ready, persist it, or leave it pending: a slow fsync), each client's
 * turn, the admin's turn (membership, leader transfer) and the nemesis's turn (faults).
 */

import { AssertionError } from '@kiseki/proto';
import type { ConfChange } from '../conf-change.ts';
import { RaftNode, type RaftOptions, type Ready } from '../raft-node.ts';
import { compactionIndex, MemoryRaftStorage } from '../storage.ts';
import { summarize } from '../testing.ts';
import { type ConfState, type Index, type Message, NO_NODE, type NodeId, type Term } from '../types.ts';
import { freshCheckState, InvariantViolation, type NodeCheckState, SafetyChecker } from './checkers.ts';
import { decodeKvCommand, encodeKvCommand, KvStateMachine } from './kv.ts';
import { checkKvHistory, formatHistory, type KvOperation } from './linearizability.ts';
import { Prng } from './prng.ts';

export const FAULT_TICKS_DEFAULT = 400;
export const QUIET_TICKS_DEFAULT = 250;

export interface SimOptions {
  seed: number;
  /** Ticks with faults. Default FAULT_TICKS_DEFAULT. */
  fault_ticks?: number;
  /** Ticks healed and fault-free at the end. Default QUIET_TICKS_DEFAULT. */
  quiet_ticks?: number;
  /** Receives one line per step (KISEKI_RAFT_TRACE=1 in the test prints them). */
  trace?: (line: string) => void;
}

/** What the seed chose. */
export interface SimProfile {
  voters: 3 | 5;
  membership: boolean;
  clients: number;
  keys: number;
  /** Chance per tick that a background writer proposes 1–4 entries (not in the checked history). */
  load: number;
  loss: number;
  duplicate: number;
  /** Fraction of messages that skip their link's FIFO order (links are FIFO otherwise, like TCP). */
  reorder: number;
  delay_ticks_max: number;
  long_delay: number;
  crash_per_tick: number;
  /** Chance per tick of pausing a node (a GC pause, SIGSTOP): no ticks, no I/O, messages wait. */
  pause_per_tick: number;
  partition_per_tick: number;
  /** Clock drift: each node ticks with probability 1 - u × drift (u uniform in [0, 1)). */
  drift: number;
  /** Chance per tick that a node's clock runs at 1/5 speed for 20–100 ticks (steal time, slew). */
  slow_clock_per_tick: number;
  fsync: number;
}

export interface SimReport {
  seed: number;
  profile: SimProfile;
  steps: number;
  ticks: number;
  checks: number;
  terms: number;
  leaders: number;
  committed: number;
  crashes: number;
  partitions: number;
  snapshots_sent: number;
  conf_changes: number;
  transfers: number;
  puts_ok: number;
  puts_unknown: number;
  gets_ok: number;
  history_ops: number;
  messages_sent: number;
  messages_dropped: number;
}

export class SimulationFailure extends Error {
  readonly seed: number;
  readonly step: number;
  constructor(
    seed: number,
    step: number,
    tick: number,
    what: string,
    replay: string,
    trace: readonly string[],
  ) {
    super(
      `raft simulation failed: seed=${seed} step=${step} tick=${tick}\n  ${what}\n  replay: ${replay}\n  last steps:\n${trace.map((l) => `    ${l}`).join('\n')}`,
    );
    this.name = 'SimulationFailure';
    this.seed = seed;
    this.step = step;
  }
}

export function profileForSeed(seed: number): SimProfile {
  const r = new Prng(seed);
  return {
    voters: r.chance(0.5) ? 3 : 5,
    membership: r.chance(0.6),
    clients: 6,
    load: r.pick([0, 0.15, 0.4]),
    keys: r.pick([1, 2, 3]),
    loss: r.pick([0, 0.01, 0.05, 0.15]),
    duplicate: r.pick([0, 0.02, 0.1]),
    reorder: r.pick([0, 0.02, 0.1]),
    delay_ticks_max: r.pick([1, 2, 4]),
    long_delay: r.pick([0, 0.01, 0.05]),
    crash_per_tick: r.pick([0, 0.004, 0.012]),
    pause_per_tick: r.pick([0, 0.004, 0.012]),
    drift: r.pick([0.03, 0.2, 0.5]),
    slow_clock_per_tick: r.pick([0, 0.005, 0.015]),
    partition_per_tick: r.pick([0, 0.006, 0.02]),
    fsync: r.pick([0.4, 0.8, 1]),
  };
}

const NODE_OPTIONS: Omit<RaftOptions, 'id' | 'storage' | 'random_int'> = {
  election_ticks: 10,
  heartbeat_ticks: 2,
  inflight_entries_max: 8,
  inflight_bytes_max: 600,
  msg_bytes_max: 200,
  apply_bytes_max: 400,
  uncommitted_bytes_max: 4000,
  read_index_pending_max: 16,
  snapshot_retry_ticks: 30,
};
/** Entries a node keeps after compaction, and the gap that triggers one. */
const RETAIN_ENTRIES = 4;
const COMPACT_AFTER_ENTRIES = 24;
const CLIENT_TIMEOUT_TICKS = 40;
/** After the quiet phase, ticks allowed for the backlog to drain before liveness fails. */
const DRAIN_TICKS_MAX = 2000;
const TRACE_TAIL = 60;

type NodeStatus = 'up' | 'down' | 'gone';

interface SimNode {
  readonly id: NodeId;
  status: NodeStatus;
  readonly storage: MemoryRaftStorage;
  raft: RaftNode | undefined;
  pending: Ready | undefined;
  sm: KvStateMachine;
  applied: Index;
  /** Read contexts → read index, once the ReadState arrived. */
  reads: Map<string, Index>;
  check: NodeCheckState;
  readonly rng: Prng;
  downUntil: number;
  pausedUntil: number;
  slowUntil: number;
  goneAt: number;
  /** Chance that a tick reaches this node (clock drift). */
  readonly rate: number;
}

type ClientOp =
  | {
      kind: 'put';
      node: NodeId;
      key: string;
      value: string;
      index: Index;
      term: Term;
      call: number;
      since: number;
    }
  | { kind: 'get'; node: NodeId; key: string; context: string; call: number; since: number };

interface Client {
  readonly id: number;
  ops: number;
  op: ClientOp | undefined;
  leaderHint: NodeId;
}

interface InFlight {
  readonly at: number;
  readonly msg: Message;
  /** Delivered in send order with the link's other FIFO messages. */
  readonly fifo: boolean;
}

export class Simulation {
  readonly seed: number;
  readonly profile: SimProfile;
  readonly rng: Prng;
  readonly faultTicks: number;
  readonly quietTicks: number;
  readonly nodes = new Map<NodeId, SimNode>();
  readonly checker = new SafetyChecker();
  readonly clients: Client[] = [];
  readonly history: KvOperation[] = [];
  readonly traceFn: ((line: string) => void) | undefined;
  readonly traceTail: string[] = [];
  network: InFlight[] = [];
  /** Latest delivery tick of a FIFO message per directed link `${from}>${to}`. */
  readonly linkClock = new Map<string, number>();
  /** Directed links cut by a partition: `${from}>${to}`. */
  blocked = new Set<string>();
  partitionUntil = 0;
  tick = 0;
  step = 0;
  quiet = false;
  nextNodeId: number;
  /** Nodes seen as members of a committed configuration. */
  readonly everMember = new Set<NodeId>();
  readonly report: SimReport;

  constructor(opts: SimOptions) {
    this.seed = opts.seed;
    this.profile = profileForSeed(opts.seed);
    this.rng = new Prng(opts.seed).fork();
    this.faultTicks = opts.fault_ticks ?? FAULT_TICKS_DEFAULT;
    this.quietTicks = opts.quiet_ticks ?? QUIET_TICKS_DEFAULT;
    this.traceFn = opts.trace;
    const voters = Array.from({ length: this.profile.voters }, (_, i) => (i + 1) as NodeId);
    this.nextNodeId = voters.length + 1;
    const conf: ConfState = { voters, learners: [] };
    for (const id of voters) {
      this.#addNode(id, new MemoryRaftStorage(conf));
      this.everMember.add(id);
    }
    for (let c = 0; c < this.profile.clients; c++) {
      this.clients.push({ id: c + 1, ops: 0, op: undefined, leaderHint: NO_NODE });
    }
    this.report = {
      seed: this.seed,
      profile: this.profile,
      steps: 0,
      ticks: 0,
      checks: 0,
      terms: 0,
      leaders: 0,
      committed: 0,
      crashes: 0,
      partitions: 0,
      snapshots_sent: 0,
      conf_changes: 0,
      transfers: 0,
      puts_ok: 0,
      puts_unknown: 0,
      gets_ok: 0,
      history_ops: 0,
      messages_sent: 0,
      messages_dropped: 0,
    };
  }

  #addNode(id: NodeId, storage: MemoryRaftStorage): SimNode {
    const n: SimNode = {
      id,
      status: 'down',
      storage,
      raft: undefined,
      pending: undefined,
      sm: new KvStateMachine(),
      applied: 0 as Index,
      reads: new Map(),
      check: freshCheckState(),
      rng: this.rng.fork(),
      downUntil: 0,
      pausedUntil: 0,
      slowUntil: 0,
      goneAt: Number.POSITIVE_INFINITY,
      rate: 1 - this.rng.float() * this.profile.drift,
    };
    this.nodes.set(id, n);
    this.#start(n);
    return n;
  }

  /** Boot or restart: everything in memory comes from what was persisted. */
  #start(n: SimNode): void {
    n.raft = new RaftNode({ ...NODE_OPTIONS, id: n.id, storage: n.storage, random_int: (k) => n.rng.int(k) });
    n.status = 'up';
    n.pending = undefined;
    const snap = n.storage.snapshot();
    n.sm = KvStateMachine.restore(snap.data);
    n.applied = snap.metadata.index;
    n.reads = new Map();
    n.check = freshCheckState();
  }

  trace(line: string): void {
    const full = `t=${this.tick} s=${this.step} ${line}`;
    this.traceTail.push(full);
    if (this.traceTail.length > TRACE_TAIL) this.traceTail.shift();
    this.traceFn?.(full);
  }

  replayCommand(): string {
    const extra = [
      this.faultTicks !== FAULT_TICKS_DEFAULT ? `KISEKI_RAFT_FAULT_TICKS=${this.faultTicks} ` : '',
      this.quietTicks !== QUIET_TICKS_DEFAULT ? `KISEKI_RAFT_QUIET_TICKS=${this.quietTicks} ` : '',
    ].join('');
    return `KISEKI_RAFT_SEED=${this.seed} ${extra}npx vitest run server/src/log/raft/sim`;
  }

  fail(what: string): never {
    throw new SimulationFailure(this.seed, this.step, this.tick, what, this.replayCommand(), this.traceTail);
  }

  upNodes(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.status === 'up');
  }

  /** Up and not paused: it ticks, does I/O, takes messages and client requests. */
  runnable(n: SimNode | undefined): n is SimNode {
    return n !== undefined && n.status === 'up' && n.pausedUntil <= this.tick;
  }

  runnableNodes(): SimNode[] {
    return [...this.nodes.values()].filter((n) => this.runnable(n));
  }

  /** The live leader with the highest term, if any. */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.runnableNodes()) {
      if (n.raft!.role === 'leader' && (best === undefined || n.raft!.term > best.raft!.term)) best = n;
    }
    return best;
  }

  // -------------------------------------------------------------------------------------------
  // The run

  run(): SimReport {
    const total = this.faultTicks + this.quietTicks;
    for (this.tick = 0; this.tick < total; this.tick++) {
      if (this.tick === this.faultTicks) this.#beginQuiet();
      this.#runTick();
    }
    // Liveness: healed and quiet, the cluster must elect a leader and bring every member up to
    // its commit index. Under a heavy backlog that takes a while; it must not take forever.
    while (this.#convergence() !== undefined && this.tick < total + DRAIN_TICKS_MAX) {
      this.#runTick();
      this.tick++;
    }
    const stuck = this.#convergence();
    if (stuck !== undefined) this.fail(`liveness: ${stuck} ${DRAIN_TICKS_MAX} ticks after the quiet phase`);
    this.#checkHistory();
    const r = this.report;
    r.steps = this.step;
    r.ticks = this.tick;
    r.checks = this.checker.checks;
    r.terms = Math.max(0, ...[...this.nodes.values()].map((n) => n.raft?.term ?? 0));
    r.leaders = this.checker.leaders.size;
    r.committed = this.checker.maxCommitted;
    r.history_ops = this.history.length;
    return r;
  }

  #runTick(): void {
    const events: [string, () => void][] = [];
    for (const n of this.runnableNodes()) {
      const rate = n.slowUntil > this.tick ? n.rate / 5 : n.rate;
      if (this.rng.chance(rate)) events.push([`tick ${n.id}`, () => this.#tickNode(n)]);
    }
    const later: InFlight[] = [];
    const fifo = new Map<string, Message[]>();
    for (const f of this.network) {
      const to = this.nodes.get(f.msg.to);
      if (f.at > this.tick || (to !== undefined && to.status === 'up' && !this.runnable(to))) {
        // Not due yet, or waiting in the paused receiver's socket buffer.
        later.push(f);
      } else if (f.fifo) {
        // One event per message, but each takes the link's oldest: the link stays in order.
        const link = `${f.msg.from}>${f.msg.to}`;
        let q = fifo.get(link);
        if (q === undefined) {
          q = [];
          fifo.set(link, q);
        }
        q.push(f.msg);
        events.push(['', () => this.#deliver(q.shift()!)]);
      } else {
        events.push(['', () => this.#deliver(f.msg)]);
      }
    }
    this.network = later;
    for (const n of this.runnableNodes()) {
      events.push([`io ${n.id}`, () => this.#io(n)]);
      events.push([`io ${n.id}`, () => this.#io(n)]);
    }
    for (const c of this.clients) events.push([`client ${c.id}`, () => this.#client(c)]);
    events.push(['load', () => this.#load()]);
    events.push(['admin', () => this.#admin()]);
    if (!this.quiet) events.push(['nemesis', () => this.#nemesis()]);
    this.rng.shuffle(events);
    for (const [label, fn] of events) {
      this.step++;
      if (label !== '') this.trace(label);
      try {
        fn();
        for (const n of this.nodes.values()) {
          if (n.status === 'up') this.checker.checkNode(n.raft!, n.check);
        }
      } catch (err) {
        if (err instanceof SimulationFailure) throw err;
        if (err instanceof InvariantViolation || err instanceof AssertionError) this.fail(err.message);
        throw err;
      }
    }
  }

  #beginQuiet(): void {
    this.quiet = true;
    this.blocked.clear();
    for (const n of this.nodes.values()) {
      n.pausedUntil = 0;
      n.slowUntil = 0;
      if (n.status === 'down') {
        this.#start(n);
        this.trace(`restart ${n.id} (quiet phase)`);
      }
    }
  }

  #tickNode(n: SimNode): void {
    if (!this.runnable(n)) return;
    n.raft!.tick();
  }

  // -------------------------------------------------------------------------------------------
  // Network

  #send(m: Message): void {
    this.report.messages_sent++;
    if (m.type === 'snapshot') this.report.snapshots_sent++;
    const p = this.profile;
    if (!this.quiet && this.rng.chance(p.loss)) {
      this.report.messages_dropped++;
      this.trace(`lose ${summarize(m)}`);
      return;
    }
    const link = `${m.from}>${m.to}`;
    let delay = 1 + this.rng.int(p.delay_ticks_max);
    if (!this.quiet && this.rng.chance(p.long_delay)) delay += this.rng.range(5, 30);
    if (!this.quiet && this.rng.chance(p.reorder)) {
      this.network.push({ at: this.tick + delay, msg: m, fifo: false });
    } else {
      const at = Math.max(this.tick + delay, this.linkClock.get(link) ?? 0);
      this.linkClock.set(link, at);
      this.network.push({ at, msg: m, fifo: true });
    }
    if (!this.quiet && this.rng.chance(p.duplicate)) {
      // A duplicate (a retransmission) arrives whenever.
      this.network.push({ at: this.tick + 1 + this.rng.int(p.delay_ticks_max + 10), msg: m, fifo: false });
    }
  }

  #deliver(m: Message): void {
    const n = this.nodes.get(m.to);
    if (n === undefined || n.status !== 'up' || this.blocked.has(`${m.from}>${m.to}`)) {
      this.report.messages_dropped++;
      this.trace(`drop ${summarize(m)}`);
      return;
    }
    this.trace(`deliver ${summarize(m)}`);
    n.raft!.step(m);
  }

  // -------------------------------------------------------------------------------------------
  // The shell: Ready handling as RaftNode's ordering contract says

  #io(n: SimNode): void {
    if (!this.runnable(n)) return;
    const raft = n.raft!;
    if (n.pending === undefined) {
      if (!raft.hasReady()) return;
      n.pending = raft.ready();
      if (!this.rng.chance(0.5)) return; // the fsync completes at a later slot (or never: crash)
    } else if (!this.rng.chance(this.profile.fsync)) {
      return;
    }
    this.#persist(n);
  }

  #persist(n: SimNode): void {
    const rd = n.pending!;
    const raft = n.raft!;
    if (this.traceFn !== undefined) {
      const ents =
        rd.entries.length === 0
          ? ''
          : ` entries=${rd.entries[0]!.index}..${rd.entries[rd.entries.length - 1]!.index}`;
      const hs =
        rd.hardState === undefined
          ? ''
          : ` hs=${rd.hardState.term}/${rd.hardState.vote}/${rd.hardState.commit}`;
      const snap = rd.snapshot === undefined ? '' : ` snapshot=${rd.snapshot.metadata.index}`;
      const ap =
        rd.committedEntries.length === 0
          ? ''
          : ` apply=${rd.committedEntries[0]!.index}..${rd.committedEntries[rd.committedEntries.length - 1]!.index}`;
      this.trace(`persist ${n.id}${snap}${ents}${hs}${ap} send=${rd.messages.length}`);
    }
    // 1. Persist: snapshot, entries, hard state ("fsync").
    if (rd.snapshot !== undefined) n.storage.applySnapshot(rd.snapshot);
    n.storage.append(rd.entries);
    if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState);
    // 2. Send.
    for (const m of rd.messages) this.#send(m);
    // 3. Apply.
    if (rd.snapshot !== undefined) {
      const s = rd.snapshot;
      n.sm = KvStateMachine.restore(s.data);
      n.applied = s.metadata.index;
      this.checker.restored(n.id, s.metadata.index, n.sm.encode());
      for (const c of this.clients) {
        // The client's entry may be inside the snapshot: it can't tell.
        if (c.op?.kind === 'put' && c.op.node === n.id && c.op.index <= s.metadata.index) this.#putUnknown(c);
      }
    }
    for (const e of rd.committedEntries) {
      if (e.index <= n.applied)
        this.fail(`node ${n.id} asked to apply ${e.index} again (applied ${n.applied})`);
      if (e.index !== n.applied + 1) this.fail(`node ${n.id} applies ${e.index} after ${n.applied}: a gap`);
      n.sm.apply(e);
      n.applied = e.index;
      this.checker.applied(raft, e, n.sm.encode());
      for (const c of this.clients) {
        const op = c.op;
        if (op?.kind !== 'put' || op.node !== n.id || op.index !== e.index) continue;
        if (e.term === op.term) {
          const cmd = decodeKvCommand(e.data);
          if (cmd.client !== c.id || cmd.value !== op.value) {
            this.fail(`client ${c.id}'s put at ${e.index}@${e.term} applied as ${JSON.stringify(cmd)}`);
          }
          this.#complete(c, op.value);
          this.report.puts_ok++;
        } else {
          // Another entry won the index: ours was never committed and never will be.
          this.trace(`client ${c.id} put ${op.value} lost at ${op.index}@${op.term}`);
          c.op = undefined;
        }
      }
    }
    for (const rs of rd.readStates) n.reads.set(rs.context, rs.index);
    this.#serveReads(n);
    raft.advance(rd);
    n.pending = undefined;
    this.#maybeCompact(n);
  }

  #serveReads(n: SimNode): void {
    for (const c of this.clients) {
      const op = c.op;
      if (op?.kind !== 'get' || op.node !== n.id) continue;
      const at = n.reads.get(op.context);
      if (at === undefined || n.applied < at) continue;
      n.reads.delete(op.context);
      this.#complete(c, n.sm.get(op.key));
      this.report.gets_ok++;
    }
  }

  #maybeCompact(n: SimNode): void {
    const raft = n.raft!;
    if (n.applied - n.storage.firstIndex() < COMPACT_AFTER_ENTRIES) return;
    // A consumer (a view) lags the applied index a little; compaction must not pass it (I-L4).
    const consumer = Math.max(0, n.applied - this.rng.int(10)) as Index;
    const upto = compactionIndex({
      applied: n.applied,
      consumers_min: consumer,
      retain_entries: RETAIN_ENTRIES,
    });
    if (upto <= n.storage.firstIndex()) return;
    if (upto > consumer) this.fail(`compaction to ${upto} passes the consumer at ${consumer} (I-L4)`);
    n.storage.createSnapshot(n.applied, raft.confStateAt(n.applied), n.sm.snapshot());
    n.storage.compact(upto);
    this.trace(`compact ${n.id} snapshot@${n.applied} upto ${upto}`);
  }

  // -------------------------------------------------------------------------------------------
  // Clients

  #client(c: Client): void {
    const op = c.op;
    if (op !== undefined) {
      if (this.tick - op.since >= CLIENT_TIMEOUT_TICKS) {
        if (op.kind === 'put') this.#putUnknown(c);
        else c.op = undefined;
      }
      return;
    }
    // Clients stop starting operations for the last part of the quiet phase, so that it drains.
    if (this.tick >= this.faultTicks + Math.floor(this.quietTicks / 2)) return;
    if (!this.rng.chance(0.35)) return;
    const up = this.runnableNodes();
    if (up.length === 0) return;
    const hinted = this.nodes.get(c.leaderHint);
    const isPut = this.rng.chance(0.55);
    // Puts go to the believed leader; reads are spread over every node (followers forward them),
    // which is also how a deposed leader that does not know it yet gets asked.
    const n = this.runnable(hinted) && this.rng.chance(isPut ? 0.85 : 0.5) ? hinted : this.rng.pick(up);
    const raft = n.raft!;
    const key = `k${this.rng.int(this.profile.keys)}`;
    const opNo = ++c.ops;
    if (isPut) {
      const value = `c${c.id}.${opNo}`;
      const r = raft.propose(encodeKvCommand({ client: c.id, op: opNo, key, value }));
      if (!r.ok) {
        c.leaderHint = r.leader;
        return;
      }
      this.trace(`client ${c.id} put ${key}=${value} at node ${n.id} → ${r.index}@${r.term}`);
      c.op = {
        kind: 'put',
        node: n.id,
        key,
        value,
        index: r.index,
        term: r.term,
        call: this.step,
        since: this.tick,
      };
    } else {
      const context = `c${c.id}.${opNo}`;
      const r = raft.readIndex(context);
      if (!r.ok) {
        c.leaderHint = r.leader;
        return;
      }
      this.trace(`client ${c.id} get ${key} at node ${n.id}`);
      c.op = { kind: 'get', node: n.id, key, context, call: this.step, since: this.tick };
    }
  }

  /** Background writes at the leader: keeps logs growing (flow control, compaction, snapshots). */
  #load(): void {
    if (this.tick >= this.faultTicks + Math.floor(this.quietTicks / 2)) return;
    if (!this.rng.chance(this.profile.load)) return;
    const leader = this.leader();
    if (leader === undefined) return;
    const datas = Array.from({ length: this.rng.range(1, 4) }, (_, i) =>
      encodeKvCommand({
        client: 0,
        op: this.step * 4 + i,
        key: 'load',
        value: 'x'.repeat(this.rng.int(120)),
      }),
    );
    const r = leader.raft!.proposeMany(datas);
    this.trace(`load ${datas.length} at ${leader.id}: ${r.ok ? `…${r.index}@${r.term}` : r.refusal}`);
  }

  #complete(c: Client, value: string | null): void {
    const op = c.op!;
    this.history.push({
      client: c.id,
      key: op.key,
      kind: op.kind,
      value: op.kind === 'put' ? op.value : value,
      call: op.call,
      ret: this.step,
    });
    this.trace(`client ${c.id} ${op.kind} ${op.key} → ${op.kind === 'put' ? 'ok' : value}`);
    c.leaderHint = op.node;
    c.op = undefined;
  }

  /** A put whose fate the client cannot learn: it may or may not have happened. */
  #putUnknown(c: Client): void {
    const op = c.op!;
    if (op.kind !== 'put') return;
    this.history.push({
      client: c.id,
      key: op.key,
      kind: 'put',
      value: op.value,
      call: op.call,
      ret: Number.POSITIVE_INFINITY,
    });
    this.report.puts_unknown++;
    c.op = undefined;
  }

  /** The client's node went away: puts become unknown, reads are dropped. */
  #abandonOpsAt(id: NodeId): void {
    for (const c of this.clients) {
      if (c.op?.node !== id) continue;
      if (c.op.kind === 'put') this.#putUnknown(c);
      else c.op = undefined;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Admin: membership changes and leader transfers, under load

  #admin(): void {
    const leader = this.leader();
    // Retire removed nodes a little after their removal committed.
    for (const n of this.nodes.values()) {
      if (n.status !== 'gone' && n.goneAt <= this.tick) {
        this.trace(`retire ${n.id}`);
        n.status = 'gone';
        this.checker.forget(n.id);
        n.raft = undefined;
        n.pending = undefined;
        this.#abandonOpsAt(n.id);
      }
    }
    if (leader === undefined) return;
    const raft = leader.raft!;
    const committedConf = raft.confStateAt(raft.committed);
    for (const id of [...committedConf.voters, ...committedConf.learners]) this.everMember.add(id);
    for (const id of this.everMember) {
      const n = this.nodes.get(id);
      const member = committedConf.voters.includes(id) || committedConf.learners.includes(id);
      if (!member && n !== undefined && n.goneAt === Number.POSITIVE_INFINITY) {
        n.goneAt = this.tick + this.rng.int(30);
      }
    }
    if (this.quiet) return;
    if (this.rng.chance(0.004)) {
      const others = raft.conf.voters.filter((v) => v !== leader.id);
      if (others.length > 0) {
        const target = this.rng.pick(others);
        const r = raft.transferLeader(target);
        this.trace(`admin transfer ${leader.id} → ${target}: ${r.ok ? 'ok' : r.refusal}`);
        if (r.ok) this.report.transfers++;
      }
    }
    if (!this.profile.membership || !this.rng.chance(0.03)) return;
    const conf = raft.conf;
    const maxVoters = this.profile.voters + 2;
    let change: ConfChange;
    let spawn: NodeId | undefined;
    if (conf.learners.length > 0) {
      change = { kind: 'promote', node: this.rng.pick(conf.learners) };
    } else if (conf.voters.length > 3 && (conf.voters.length >= maxVoters || this.rng.chance(0.5))) {
      change = { kind: 'remove', node: this.rng.pick(conf.voters) };
    } else {
      // Reuse a node that was added once but whose addition never committed, else a new one.
      const spare = [...this.nodes.values()].find(
        (n) =>
          n.status === 'up' &&
          !this.everMember.has(n.id) &&
          !conf.voters.includes(n.id) &&
          !conf.learners.includes(n.id),
      );
      const id = spare?.id ?? (this.nextNodeId as NodeId);
      if (spare === undefined) spawn = id;
      change = { kind: 'add-learner', node: id };
    }
    const r = raft.proposeConfChange(change);
    this.trace(
      `admin ${change.kind} ${change.node} at ${leader.id}: ${r.ok ? `${r.index}@${r.term}` : r.refusal}`,
    );
    if (!r.ok) return;
    this.report.conf_changes++;
    if (spawn !== undefined) {
      this.nextNodeId++;
      this.#addNode(spawn, new MemoryRaftStorage());
    }
  }

  // -------------------------------------------------------------------------------------------
  // Nemesis: crashes, restarts, partitions

  #nemesis(): void {
    const p = this.profile;
    for (const n of this.nodes.values()) {
      if (n.status === 'down' && n.downUntil <= this.tick) {
        this.#start(n);
        this.trace(
          `restart ${n.id} term=${n.raft!.term} last=${n.raft!.lastIndex()} commit=${n.raft!.committed}`,
        );
      }
    }
    const up = this.upNodes();
    if (up.length > 0 && this.rng.chance(p.crash_per_tick * up.length)) {
      const leader = this.leader();
      const n = leader !== undefined && this.rng.chance(0.4) ? leader : this.rng.pick(up);
      this.#crash(n);
    }
    const runnable = this.runnableNodes();
    if (runnable.length > 0 && this.rng.chance(p.pause_per_tick * runnable.length)) {
      const leader = this.leader();
      const n = leader !== undefined && this.rng.chance(0.5) ? leader : this.rng.pick(runnable);
      n.pausedUntil = this.tick + this.rng.range(5, 80);
      this.trace(`pause ${n.id} until t=${n.pausedUntil}`);
    }
    if (runnable.length > 0 && this.rng.chance(p.slow_clock_per_tick * runnable.length)) {
      const leader = this.leader();
      const n = leader !== undefined && this.rng.chance(0.5) ? leader : this.rng.pick(runnable);
      n.slowUntil = this.tick + this.rng.range(20, 100);
      this.trace(`slow clock ${n.id} until t=${n.slowUntil}`);
    }
    if (this.blocked.size > 0 && this.tick >= this.partitionUntil) {
      this.blocked.clear();
      this.trace('heal partition');
    } else if (this.blocked.size === 0 && this.rng.chance(p.partition_per_tick)) {
      this.#partition();
    }
  }

  #crash(n: SimNode): void {
    const lost = n.pending === undefined ? 0 : n.pending.entries.length;
    this.trace(
      `crash ${n.id}${n.pending === undefined ? '' : ` losing an unpersisted Ready (${lost} entries)`}`,
    );
    n.status = 'down';
    this.checker.forget(n.id);
    n.raft = undefined;
    n.pending = undefined;
    n.reads.clear();
    n.downUntil = this.tick + this.rng.range(3, 60);
    this.report.crashes++;
    this.#abandonOpsAt(n.id);
  }

  #partition(): void {
    const ids = [...this.nodes.values()].filter((n) => n.status !== 'gone').map((n) => n.id);
    if (ids.length < 2) return;
    const kind = this.rng.pick(['split', 'one-way', 'isolate-leader', 'bridge'] as const);
    const shuffled = this.rng.shuffle([...ids]);
    const cut = 1 + this.rng.int(ids.length - 1);
    let a = shuffled.slice(0, cut);
    let b = shuffled.slice(cut);
    const leader = this.leader();
    if (kind === 'isolate-leader' && leader !== undefined) {
      a = [leader.id];
      b = ids.filter((id) => id !== leader.id);
      // Often with a slow clock too: the cut-off leader then takes long to notice (check-quorum
      // counts its own ticks), which is when a read served without a quorum round would be stale.
      if (this.rng.chance(0.5)) leader.slowUntil = this.tick + this.rng.range(20, 100);
    }
    for (const x of a) {
      for (const y of b) {
        if (kind === 'bridge' && x === a[0]) continue; // a[0] still talks to everyone
        this.blocked.add(`${x}>${y}`);
        if (kind !== 'one-way') this.blocked.add(`${y}>${x}`);
      }
    }
    this.partitionUntil = this.tick + this.rng.range(10, 80);
    this.report.partitions++;
    this.trace(`partition ${kind} [${a.join(',')}] ${kind === 'one-way' ? '-/->' : '-/-'} [${b.join(',')}]`);
  }

  // -------------------------------------------------------------------------------------------
  // End-of-run checks

  /** Why the cluster has not converged yet, or undefined once it has. */
  #convergence(): string | undefined {
    const leader = this.leader();
    if (leader === undefined) return 'no leader (healed, every node up, no loss)';
    const raft = leader.raft!;
    if (raft.committed < raft.lastIndex()) return `leader ${leader.id} has uncommitted entries`;
    for (const id of [...raft.conf.voters, ...raft.conf.learners]) {
      const n = this.nodes.get(id);
      if (n === undefined || n.status !== 'up') continue;
      if (n.raft!.committed !== raft.committed || n.applied !== raft.committed) {
        return `node ${id} has commit ${n.raft!.committed} / applied ${n.applied}; leader ${leader.id} has commit ${raft.committed}`;
      }
    }
    for (const c of this.clients) {
      if (c.op !== undefined) return `client ${c.id} still waits for a ${c.op.kind} at node ${c.op.node}`;
    }
    return undefined;
  }

  #checkHistory(): void {
    const r = checkKvHistory(this.history);
    if (r.outcome === 'illegal') {
      this.fail(
        `linearizability: the history of key ${r.key} has no linearization:\n${formatHistory(r.ops)}`,
      );
    }
    if (r.outcome === 'unknown')
      this.fail(`linearizability: the history of key ${r.key} is too large to check`);
  }
}

/** Run one seeded simulation; throws SimulationFailure (with seed, step and replay command). */
export function runSimulation(opts: SimOptions): SimReport {
  return new Simulation(opts).run();
}
