/**
 * `kiseki node add|drain|remove` and `kiseki shard list|transfer-leader`: admin requests to a
 * node's Raft service (proto/src/raft-admin.ts), authenticated with the admin token. Requests
 * that must run at a group's leader are forwarded there by the node.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import {
  encodeRaftAdmin,
  KisekiError,
  RAFT_CALL_PATH,
  type RaftAdminRequest,
  type RaftGroupStatus,
  type RaftNodeStatus,
} from '@kiseki/proto';
import { adminToken, caPath, serverAddress } from './home.ts';

const identity = (b: Buffer) => b;
/** How long `node add` waits for a new member to catch up before it is promoted. */
const PROMOTE_WAIT_MS_MAX = 120_000;

export class RaftAdmin {
  readonly #client: grpc.Client;
  readonly #token: string;

  constructor(home: string, server?: string) {
    this.#client = new grpc.Client(
      serverAddress(home, server),
      grpc.credentials.createSsl(readFileSync(caPath(home))),
    );
    this.#token = adminToken(home);
  }

  call<T>(req: RaftAdminRequest, timeoutMs = 15_000): Promise<T> {
    const md = new grpc.Metadata();
    md.set('authorization', this.#token);
    return new Promise((resolve, reject) =>
      this.#client.makeUnaryRequest<Buffer, Buffer>(
        RAFT_CALL_PATH,
        identity,
        identity,
        encodeRaftAdmin(req),
        md,
        { deadline: Date.now() + timeoutMs },
        (err, res) => {
          if (!err) return resolve(JSON.parse(res!.toString('utf8')) as T);
          if (err.code === grpc.status.UNIMPLEMENTED) {
            return reject(
              new KisekiError(
                'KISEKI_E_UNSUPPORTED',
                'this node runs a single-replica log: start kiseki-server with --node-id and --peers to make it a Raft cluster member',
              ),
            );
          }
          const code = err.metadata?.get('kiseki-code')[0];
          reject(
            new KisekiError(
              typeof code === 'string' ? (code as KisekiError['code']) : 'KISEKI_E_UNAVAILABLE',
              err.details.replace(/^KISEKI_E_\w+: /, ''),
            ),
          );
        },
      ),
    );
  }

  status(): Promise<RaftNodeStatus> {
    return this.call({ op: 'status' }, 3000);
  }

  /** Append raw payloads to a raw group (`_probe`): tests and `pnpm bench raft`. */
  propose(group: string, payloads: Buffer[], timeoutMs = 10_000): Promise<{ seqs: number[] }> {
    return this.call(
      { op: 'propose', group, payloads: payloads.map((p) => p.toString('base64')) },
      timeoutMs,
    );
  }

  /** Add `node` (reachable at `address`) to every group as a learner, then promote it once caught up. */
  async addNode(node: number, address: string, progress: (s: string) => void): Promise<void> {
    const { groups } = await this.status();
    for (const g of groups) {
      await this.call({ op: 'conf', group: g.group, kind: 'add-learner', node, address });
      const deadline = Date.now() + PROMOTE_WAIT_MS_MAX;
      for (;;) {
        try {
          await this.call({ op: 'conf', group: g.group, kind: 'promote', node });
          break;
        } catch (err) {
          if (!(err instanceof KisekiError) || err.code !== 'KISEKI_E_BUSY' || Date.now() > deadline)
            throw err;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      progress(`${g.group}: node ${node} is a voter`);
    }
  }

  /** Move leadership of every group led by `node` to another voter. */
  async drainNode(node: number, progress: (s: string) => void): Promise<void> {
    const { groups } = await this.status();
    for (const g of groups) {
      if (g.leader !== node) continue;
      const to = g.voters.find((v) => v !== node);
      if (to === undefined)
        throw new KisekiError('KISEKI_E_INVAL', `${g.group}: node ${node} is its only voter`);
      await this.transferLeader(g.group, to);
      progress(`${g.group}: leadership moved from node ${node} to node ${to}`);
    }
  }

  /** Drain `node`, then remove it from every group. */
  async removeNode(node: number, progress: (s: string) => void): Promise<void> {
    await this.drainNode(node, progress);
    const { groups } = await this.status();
    for (const g of groups) {
      if (!g.voters.includes(node) && !g.learners.includes(node)) continue;
      await this.call({ op: 'conf', group: g.group, kind: 'remove', node });
      progress(`${g.group}: node ${node} removed`);
    }
  }

  /** Ask the group's leader to hand over to `to`, and wait (bounded) until it has. */
  async transferLeader(group: string, to: number): Promise<void> {
    await this.call({ op: 'transfer-leader', group, to });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const g = (await this.status()).groups.find((x) => x.group === group);
      if (g?.leader === to) return;
      if (Date.now() > deadline) {
        throw new KisekiError(
          'KISEKI_E_TIMEOUT',
          `${group}: node ${to} did not take over within 10 s; retry`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  close(): void {
    this.#client.close();
  }
}

export function formatGroups(groups: RaftGroupStatus[]): string {
  const rows = groups.map(
    (g) =>
      `${g.group.padEnd(20)} ${String(g.leader || '-').padEnd(7)} ${String(g.term).padEnd(6)} ${String(g.commit).padEnd(9)} ${String(g.seq).padEnd(9)} ${g.voters.join(',')}${g.learners.length ? ` (+learners ${g.learners.join(',')})` : ''}`,
  );
  return [`${'SHARD'.padEnd(20)} LEADER  TERM   COMMIT    DELTAS    VOTERS`, ...rows].join('\n');
}
