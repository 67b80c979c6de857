/**
 * A hand-driven cluster for script-like unit tests of the Raft core: every Ready is persisted to
 * MemoryRaftStorage, applied to a list, and its messages are returned to the test, which decides
 * what to deliver. Nothing here runs by itself; the simulator (./sim) is the automatic version.
 */

import { invariant } from '@kiseki/proto';
import { canonicalConf } from './conf-change.ts';
import { RaftNode, type RaftOptions } from './raft-node.ts';
import { MemoryRaftStorage } from './storage.ts';
import type { Entry, Index, Message, NodeId, ReadState } from './types.ts';

export type TestOptions = Partial<Omit<RaftOptions, 'id' | 'storage'>>;

export class TestCluster {
  readonly nodes = new Map<NodeId, RaftNode>();
  readonly storages = new Map<NodeId, MemoryRaftStorage>();
  readonly applied = new Map<NodeId, Entry[]>();
  readonly readStates = new Map<NodeId, ReadState[]>();
  readonly snapshotsApplied: { id: NodeId; index: Index }[] = [];
  readonly opts: TestOptions;

  /**
   * `voters` bootstrap the cluster; `others` start with an empty configuration (to be added
   * later). The default RNG makes every election timeout 2 × election_ticks - 1 (19 ticks), so
   * 10 ticks take a follower out of its leader's lease without making it campaign.
   */
  constructor(voters: number[], opts: TestOptions = {}, others: number[] = []) {
    this.opts = opts;
    const conf = canonicalConf(voters as NodeId[], []);
    for (const id of voters) this.#add(id as NodeId, new MemoryRaftStorage(conf));
    for (const id of others) this.#add(id as NodeId, new MemoryRaftStorage());
  }

  #add(id: NodeId, storage: MemoryRaftStorage): void {
    this.storages.set(id, storage);
    this.applied.set(id, []);
    this.readStates.set(id, []);
    this.nodes.set(id, this.#make(id, storage));
  }

  #make(id: NodeId, storage: MemoryRaftStorage): RaftNode {
    return new RaftNode({
      random_int: (k) => k - 1,
      election_ticks: 10,
      heartbeat_ticks: 1,
      ...this.opts,
      id,
      storage,
    });
  }

  node(id: number): RaftNode {
    const n = this.nodes.get(id as NodeId);
    invariant(n !== undefined, `no node ${id}`);
    return n;
  }

  /** Handle node `id`'s Ready as the contract says; return the messages it sends. */
  flush(id: number): Message[] {
    const n = this.node(id);
    if (!n.hasReady()) return [];
    const rd = n.ready();
    const st = this.storages.get(id as NodeId)!;
    if (rd.snapshot !== undefined) st.applySnapshot(rd.snapshot);
    st.append(rd.entries);
    if (rd.hardState !== undefined) st.setHardState(rd.hardState);
    const applied = this.applied.get(id as NodeId)!;
    if (rd.snapshot !== undefined)
      this.snapshotsApplied.push({ id: id as NodeId, index: rd.snapshot.metadata.index });
    applied.push(...rd.committedEntries);
    this.readStates.get(id as NodeId)!.push(...rd.readStates);
    n.advance(rd);
    return [...rd.messages];
  }

  /** Flush every node; return all messages, in node order. */
  flushAll(): Message[] {
    const out: Message[] = [];
    for (const id of this.nodes.keys()) out.push(...this.flush(id));
    return out;
  }

  /** Step each message into its recipient (skipping unknown ones) and flush the recipients. */
  deliver(msgs: readonly Message[]): Message[] {
    const touched = new Set<NodeId>();
    for (const m of msgs) {
      const n = this.nodes.get(m.to);
      if (n === undefined) continue;
      n.step(m);
      touched.add(m.to);
    }
    const out: Message[] = [];
    for (const id of touched) out.push(...this.flush(id));
    return out;
  }

  /**
   * Deliver `initial` and everything it causes until no messages are left; `keep` drops the
   * messages it returns false for (a partition, a lossy link).
   */
  stabilize(
    keep: (m: Message) => boolean = () => true,
    initial: readonly Message[] = [],
    rounds_max = 100,
  ): void {
    let msgs = [...initial, ...this.flushAll()].filter(keep);
    for (let r = 0; msgs.length > 0; r++) {
      invariant(r < rounds_max, 'cluster did not stabilize');
      msgs = this.deliver(msgs).filter(keep);
      msgs.push(...this.flushAll().filter(keep));
    }
  }

  tick(id: number, n = 1): void {
    for (let i = 0; i < n; i++) this.node(id).tick();
  }

  /** Elect `id` by campaigning and delivering everything. */
  elect(id: number): void {
    this.node(id).campaign();
    this.stabilize();
    invariant(this.node(id).role === 'leader', `node ${id} did not become leader`);
  }

  /** Crash `id` (losing its unpersisted state) and restart it from its storage. */
  restart(id: number): RaftNode {
    const st = this.storages.get(id as NodeId)!;
    const n = this.#make(id as NodeId, st);
    this.nodes.set(id as NodeId, n);
    this.applied.set(id as NodeId, []);
    return n;
  }

  /** Payloads applied on `id`, decoded as UTF-8, skipping the leaders' empty no-ops. */
  appliedData(id: number): string[] {
    return this.applied
      .get(id as NodeId)!
      .filter((e) => e.type === 'normal' && e.data.byteLength > 0)
      .map((e) => new TextDecoder().decode(e.data));
  }
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A one-line summary of a message, for script-like expectations. */
export function summarize(m: Message): string {
  const head = `${m.from}→${m.to} ${m.type} t${m.term}`;
  switch (m.type) {
    case 'vote-request':
      return `${head}${m.pre ? ' pre' : ''}${m.transfer ? ' transfer' : ''} last=${m.lastIndex}@${m.lastTerm}`;
    case 'vote-response':
      return `${head}${m.pre ? ' pre' : ''} ${m.granted ? 'granted' : 'rejected'}`;
    case 'append':
      return `${head} prev=${m.prevIndex}@${m.prevTerm} entries=[${m.entries.map((e) => `${e.index}@${e.term}`).join(',')}] commit=${m.commit}`;
    case 'append-response':
      return m.reject
        ? `${head} reject=${m.index} hint=${m.hintIndex}@${m.hintTerm}`
        : `${head} index=${m.index}`;
    case 'heartbeat':
      return `${head} commit=${m.commit}${m.context === undefined ? '' : ` ctx=${m.context}`}`;
    case 'heartbeat-response':
      return `${head}${m.context === undefined ? '' : ` ctx=${m.context}`}`;
    case 'snapshot':
      return `${head} snapshot=${m.snapshot.metadata.index}@${m.snapshot.metadata.term}`;
    case 'timeout-now':
      return head;
    case 'read-index':
      return `${head} ctx=${m.context}`;
    case 'read-index-response':
      return `${head} ctx=${m.context} index=${m.index}`;
  }
}

export function summarizeAll(msgs: readonly Message[]): string[] {
  return msgs.map(summarize);
}

/** Index as a branded value, for tests. */
export const ix = (n: number): Index => n as Index;
