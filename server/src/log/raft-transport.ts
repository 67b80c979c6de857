/**
 * Raft traffic between nodes: every group's messages multiplexed on the node's one gRPC (TLS)
 * port. Per peer, one long-lived client-streaming call carries batch frames (codec.ts); all
 * messages queued for a peer within one event-loop turn go out as one frame. Each direction has
 * its own stream (A's messages to B travel on the stream A opened). ADR 0009 has the measurements
 * behind the choice.
 *
 * A small unary call (`Call`) carries node-to-node requests that are not Raft messages: fetching
 * deltas a snapshot implies, forwarded proposals, admin operations routed to a group's leader.
 *
 * Authentication: every call carries the cluster's admin token (`authorization`), checked by the
 * injected `authenticate` like the node's other cluster-internal RPCs; peers present their Raft
 * id and address in metadata, which is how a node learns the address of one that joined later.
 *
 * Loss is fine for Raft (it retries), so a peer that is down or slow loses messages instead of
 * queueing without bound: a peer's queue holds at most `peer_queue_bytes_max`, and a broken
 * stream drops what was queued and reports the peer unreachable.
 */

import * as grpc from '@grpc/grpc-js';
import { KisekiError, RAFT_CALL_PATH, RAFT_STREAM_PATH } from '@kiseki/proto';
import { decodeBatch, encodeBatch, type GroupMessage } from './raft/codec.ts';
import { entryBytes, type NodeId } from './raft/types.ts';

const identity = (b: Buffer) => b;
export const RAFT_SERVICE: grpc.ServiceDefinition = {
  Stream: {
    path: RAFT_STREAM_PATH,
    requestStream: true,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
  Call: {
    path: RAFT_CALL_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};
const RaftClient = grpc.makeGenericClientConstructor(RAFT_SERVICE, 'Raft');

export interface RaftTransportOptions {
  readonly self: NodeId;
  /** host:port others reach this node at (sent to peers so that they learn it). */
  readonly selfAddress: string;
  /** The cluster token sent with every call. */
  readonly token: string;
  /** CA that peers' TLS certificates chain to. */
  readonly caCert: Buffer;
  /** Throws KISEKI_E_AUTH if the call's metadata does not carry the cluster token. */
  readonly authenticate: (md: grpc.Metadata) => void;
  readonly onMessages: (msgs: GroupMessage[]) => void;
  /** A peer's unary request; the reply bytes or a KisekiError. */
  readonly onCall: (from: NodeId, req: Buffer) => Promise<Buffer>;
  /** The stream to `peer` broke or its queue overflowed: Raft should stop streaming to it. */
  readonly onUnreachable: (peer: NodeId) => void;
  readonly warn: (obj: object, msg: string) => void;
  /** Bytes queued for one peer before new messages to it are dropped. Default 64 MiB. */
  readonly peer_queue_bytes_max?: number;
}

interface Peer {
  address: string;
  client: grpc.Client | undefined;
  stream: grpc.ClientWritableStream<Buffer> | undefined;
  queue: GroupMessage[];
  queueBytes: number;
  blocked: boolean;
  /** Earliest time to try a new stream after a failure. */
  retryAtMs: number;
}

/** Bytes a message costs in a peer queue: its entries' payloads plus a fixed overhead. */
function messageBytes(m: GroupMessage): number {
  let n = 64 + m.group.length;
  const msg = m.message;
  if (msg.type === 'append') for (const e of msg.entries) n += entryBytes(e) + 32;
  else if (msg.type === 'snapshot') n += msg.snapshot.data.byteLength;
  return n;
}

export class RaftTransport {
  readonly #o: RaftTransportOptions;
  readonly #peers = new Map<NodeId, Peer>();
  readonly #queueMax: number;
  #flushScheduled = false;
  #closed = false;
  readonly stats = { framesSent: 0, messagesSent: 0, framesReceived: 0, messagesReceived: 0, dropped: 0 };

  constructor(o: RaftTransportOptions) {
    this.#o = o;
    this.#queueMax = o.peer_queue_bytes_max ?? 64 * 1024 * 1024;
  }

  /** Register the Raft service on the node's gRPC server. */
  addToServer(server: grpc.Server): void {
    server.addService(RAFT_SERVICE, {
      Stream: (call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        try {
          this.#o.authenticate(call.metadata);
          this.#learnPeer(call.metadata);
        } catch (err) {
          cb(toStatus(err));
          return;
        }
        call.on('data', (frame: Buffer) => {
          let msgs: GroupMessage[];
          try {
            msgs = decodeBatch(frame);
          } catch (err) {
            this.#o.warn(
              { err: (err as Error).message },
              'raft: malformed frame from a peer; closing its stream',
            );
            call.destroy(err as Error);
            return;
          }
          this.stats.framesReceived++;
          this.stats.messagesReceived += msgs.length;
          this.#o.onMessages(msgs);
        });
        call.on('end', () => cb(null, Buffer.alloc(0)));
        call.on('error', () => {});
      },
      Call: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        let from: NodeId;
        try {
          this.#o.authenticate(call.metadata);
          from = this.#learnPeer(call.metadata);
        } catch (err) {
          cb(toStatus(err));
          return;
        }
        this.#o.onCall(from, call.request).then(
          (res) => cb(null, res),
          (err) => cb(toStatus(err)),
        );
      },
    });
  }

  /** Set or change where `id` is reached. */
  setPeer(id: NodeId, address: string): void {
    if (id === this.#o.self) return;
    const p = this.#peers.get(id);
    if (p !== undefined && p.address === address) return;
    if (p !== undefined) this.#closePeer(p);
    this.#peers.set(id, {
      address,
      client: undefined,
      stream: undefined,
      queue: [],
      queueBytes: 0,
      blocked: false,
      retryAtMs: 0,
    });
  }

  peers(): Map<NodeId, string> {
    return new Map([...this.#peers].map(([id, p]) => [id, p.address]));
  }

  address(id: NodeId): string | undefined {
    return id === this.#o.self ? this.#o.selfAddress : this.#peers.get(id)?.address;
  }

  /** Queue messages for their peers; they leave together at the end of this event-loop turn. */
  send(msgs: readonly GroupMessage[]): void {
    if (this.#closed) return;
    for (const m of msgs) {
      const p = this.#peers.get(m.message.to);
      if (p === undefined) {
        this.stats.dropped++;
        continue;
      }
      const bytes = messageBytes(m);
      if (p.queueBytes + bytes > this.#queueMax) {
        this.stats.dropped++;
        this.#o.onUnreachable(m.message.to);
        continue;
      }
      p.queue.push(m);
      p.queueBytes += bytes;
    }
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => {
        this.#flushScheduled = false;
        for (const [id, p] of this.#peers) this.#flush(id, p);
      });
    }
  }

  /** A unary request to `to` (see onCall), bounded by `timeoutMs`. */
  call(to: NodeId, req: Buffer, timeoutMs: number): Promise<Buffer> {
    const p = this.#peers.get(to);
    if (p === undefined) {
      return Promise.reject(new KisekiError('KISEKI_E_UNAVAILABLE', `raft peer ${to} has no known address`));
    }
    const client = this.#client(p);
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest<Buffer, Buffer>(
        RAFT_SERVICE.Call!.path,
        identity,
        identity,
        req,
        this.#metadata(),
        { deadline: Date.now() + timeoutMs },
        (err, res) => {
          if (err) reject(fromStatus(err, to));
          else resolve(res ?? Buffer.alloc(0));
        },
      );
    });
  }

  close(): void {
    this.#closed = true;
    for (const p of this.#peers.values()) this.#closePeer(p);
  }

  #metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    md.set('authorization', this.#o.token);
    md.set('kiseki-raft-from', String(this.#o.self));
    md.set('kiseki-raft-address', this.#o.selfAddress);
    return md;
  }

  #learnPeer(md: grpc.Metadata): NodeId {
    const raw = md.get('kiseki-raft-from')[0];
    // Admin tools (kiseki CLI, benchmarks) call without a node id.
    if (raw === undefined) return 0 as NodeId;
    const id = Number(raw);
    const addr = md.get('kiseki-raft-address')[0];
    if (!Number.isSafeInteger(id) || id < 1 || id > 0xffff_ffff) {
      throw new KisekiError('KISEKI_E_INVAL', 'raft peer sent a bad node id');
    }
    if (typeof addr === 'string' && /^[\w.:[\]-]{1,256}$/.test(addr) && !this.#peers.has(id as NodeId)) {
      this.setPeer(id as NodeId, addr);
    }
    return id as NodeId;
  }

  #client(p: Peer): grpc.Client {
    p.client ??= new RaftClient(p.address, grpc.credentials.createSsl(this.#o.caCert), {
      'grpc.max_receive_message_length': 128 * 1024 * 1024,
      'grpc.max_send_message_length': 128 * 1024 * 1024,
      'grpc.keepalive_time_ms': 10_000,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
    });
    return p.client;
  }

  #flush(id: NodeId, p: Peer): void {
    if (p.queue.length === 0 || p.blocked || this.#closed) return;
    if (p.stream === undefined) {
      if (Date.now() < p.retryAtMs) {
        this.#dropQueue(id, p);
        return;
      }
      const client = this.#client(p);
      const stream = client.makeClientStreamRequest<Buffer, Buffer>(
        RAFT_SERVICE.Stream!.path,
        identity,
        identity,
        this.#metadata(),
        {},
        (err) => {
          if (p.stream !== stream) return;
          p.stream = undefined;
          p.blocked = false;
          if (err && !this.#closed) {
            p.retryAtMs = Date.now() + 200;
            this.#dropQueue(id, p);
          }
        },
      );
      stream.on('error', () => {});
      p.stream = stream;
    }
    const msgs = p.queue;
    p.queue = [];
    p.queueBytes = 0;
    // Frames stay below a few MiB so one large append does not delay every other group.
    for (let i = 0; i < msgs.length; ) {
      let bytes = 0;
      let j = i;
      while (
        j < msgs.length &&
        (j === i || bytes + messageBytes(msgs[j]!) < 4 * 1024 * 1024) &&
        j - i < 4096
      ) {
        bytes += messageBytes(msgs[j]!);
        j++;
      }
      const frame = encodeBatch(msgs.slice(i, j));
      this.stats.framesSent++;
      this.stats.messagesSent += j - i;
      i = j;
      if (!p.stream.write(frame)) {
        p.blocked = true;
        const stream = p.stream;
        stream.once('drain', () => {
          if (p.stream !== stream) return;
          p.blocked = false;
          this.#flush(id, p);
        });
      }
    }
  }

  #dropQueue(id: NodeId, p: Peer): void {
    if (p.queue.length === 0) return;
    this.stats.dropped += p.queue.length;
    p.queue = [];
    p.queueBytes = 0;
    this.#o.onUnreachable(id);
  }

  #closePeer(p: Peer): void {
    const s = p.stream;
    p.stream = undefined;
    s?.end();
    p.client?.close();
    p.client = undefined;
  }
}

function toStatus(err: unknown): Partial<grpc.StatusObject> {
  const md = new grpc.Metadata();
  if (err instanceof KisekiError) {
    md.set('kiseki-code', err.code);
    return { code: err.grpcStatus, details: `${err.code}: ${err.message}`, metadata: md };
  }
  return { code: grpc.status.INTERNAL, details: `KISEKI_E_INTERNAL: ${(err as Error)?.message ?? err}` };
}

function fromStatus(err: grpc.ServiceError, peer: NodeId): KisekiError {
  const code = err.metadata?.get('kiseki-code')[0];
  const details = err.details.replace(/^KISEKI_E_\w+: /, '');
  if (typeof code === 'string' && code.startsWith('KISEKI_E_')) {
    return new KisekiError(code as KisekiError['code'], details);
  }
  return new KisekiError('KISEKI_E_UNAVAILABLE', `raft peer ${peer}: ${err.details || err.message}`);
}
