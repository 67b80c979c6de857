/**
 * Pending linearizable reads on a leader (read index, §6.4; no leader lease). Each request
 * remembers the commit index when it arrived; the leader then sends a heartbeat round carrying
 * the newest request's context, and once a quorum of voters answers that round, every request up
 * to and including it is released: the leader was still leader after they all arrived, so its
 * commit index then covered every write they could have observed.
 */

import { invariant } from '@kiseki/proto';
import type { Index, NodeId } from './types.ts';

export interface ReadIndexStatus {
  readonly index: Index;
  /** Who asked: the leader itself, or a follower that forwarded a client's request. */
  readonly from: NodeId;
  readonly context: string;
  readonly acks: Set<NodeId>;
}

export class ReadOnly {
  readonly #pending = new Map<string, ReadIndexStatus>();
  readonly #queue: string[] = [];

  get size(): number {
    return this.#queue.length;
  }

  has(context: string): boolean {
    return this.#pending.has(context);
  }

  /** Register a request; a context already pending (a duplicated message) is ignored. */
  add(index: Index, from: NodeId, context: string): boolean {
    if (this.#pending.has(context)) return false;
    this.#pending.set(context, { index, from, context, acks: new Set() });
    this.#queue.push(context);
    return true;
  }

  /** Record `id`'s answer to the round for `context`; returns who has answered, or undefined. */
  recvAck(id: NodeId, context: string): ReadonlySet<NodeId> | undefined {
    const rs = this.#pending.get(context);
    if (rs === undefined) return undefined;
    rs.acks.add(id);
    return rs.acks;
  }

  /** Release every request up to and including `context`, oldest first. */
  advance(context: string): ReadIndexStatus[] {
    const at = this.#queue.indexOf(context);
    if (at < 0) return [];
    const released = this.#queue.splice(0, at + 1).map((c) => {
      const rs = this.#pending.get(c);
      invariant(rs !== undefined, `read-index queue holds unknown context ${c}`);
      this.#pending.delete(c);
      return rs;
    });
    return released;
  }

  lastPendingContext(): string | undefined {
    return this.#queue[this.#queue.length - 1];
  }

  reset(): void {
    this.#pending.clear();
    this.#queue.length = 0;
  }
}
