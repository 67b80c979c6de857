/**
 * Advisory locks (fcntl record locks, flock) through the node's Lock service. The client keeps
 * the lease alive while it holds or waits for locks and remembers what it holds, so that after
 * a server restart (a new epoch in the renewal) it reclaims exactly those locks.
 */
import { randomBytes } from 'node:crypto';
import {
  KisekiError,
  type LockResponse__Output,
  type RenewLockLeaseResponse__Output,
  type TestLockResponse__Output,
} from '@kiseki/proto';
import type { Rpc } from './rpc.ts';

export type LockKind = 'posix' | 'flock';
export type LockType = 'read' | 'write';

export interface LockSpec {
  readonly ino: number;
  readonly kind: LockKind;
  /** Who holds it within this client: a FUSE lock owner, an SDK handle. */
  readonly owner: string;
  /** Byte range; length 0 = to the end of the file and beyond (flock: ignored). */
  readonly start?: number;
  readonly length?: number;
}

export interface HeldRange {
  readonly type: LockType;
  readonly start: number;
  readonly end: number; // inclusive, Infinity = to the end
}

export interface LockConflict {
  readonly type: LockType;
  readonly start: number;
  readonly length: number;
  readonly pid: number;
}

function toEnd(start: number, length: number): number {
  return length === 0 ? Number.POSITIVE_INFINITY : start + length - 1;
}

/** The ranges an owner holds after taking (`type` set) or dropping (`type` undefined) [start, end]. */
export function applyRange(
  held: readonly HeldRange[],
  start: number,
  end: number,
  type?: LockType,
): HeldRange[] {
  const out: HeldRange[] = [];
  for (const h of held) {
    if (h.end < start || h.start > end) {
      out.push(h);
      continue;
    }
    if (h.start < start) out.push({ ...h, end: start - 1 });
    if (h.end > end) out.push({ ...h, start: end + 1 });
  }
  if (type) out.push({ type, start, end });
  return out;
}

const wire = (kind: LockKind) => (kind === 'flock' ? 'LOCK_KIND_FLOCK' : 'LOCK_KIND_POSIX');
const wireType = (t: LockType) => (t === 'write' ? 'LOCK_TYPE_WRITE' : 'LOCK_TYPE_READ');

export class ClientLocks {
  /** Random per client object: with the owner it names a lock holder on the server. */
  readonly clientId = randomBytes(16).toString('hex');
  /** key `${ino}/${kind}/${owner}` → ranges held (flock: one whole-file range). */
  readonly #held = new Map<string, { spec: LockSpec; ranges: HeldRange[] }>();
  #epoch: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #waiting = 0;
  #closed = false;

  constructor(
    private readonly rpc: Rpc,
    private readonly pid = process.pid,
  ) {}

  /**
   * Takes a lock. Without `wait` a conflict fails with KISEKI_E_AGAIN at once; with it, waits
   * until granted or `signal` aborts (KISEKI_E_INTR).
   */
  async lock(
    spec: LockSpec,
    type: LockType,
    opts: { wait?: boolean; signal?: AbortSignal; pid?: number } = {},
  ): Promise<void> {
    this.#check();
    const start = spec.kind === 'flock' ? 0 : (spec.start ?? 0);
    const length = spec.kind === 'flock' ? 0 : (spec.length ?? 0);
    await this.#ensureLease();
    this.#waiting++;
    try {
      for (;;) {
        if (opts.signal?.aborted) throw new KisekiError('KISEKI_E_INTR', 'lock wait interrupted');
        const r = await this.rpc.call<object, LockResponse__Output>(
          this.rpc.clients.lock,
          'Acquire',
          {
            ino: spec.ino,
            kind: wire(spec.kind),
            type: wireType(type),
            start,
            length,
            client: this.clientId,
            owner: spec.owner,
            pid: opts.pid ?? this.pid,
            wait: opts.wait ?? false,
            reclaim: false,
          },
          { idempotent: true },
        );
        if (r.granted) break;
        if (!opts.wait) throw new KisekiError('KISEKI_E_AGAIN', 'the file is locked by another owner');
      }
    } finally {
      this.#waiting--;
    }
    const key = `${spec.ino}/${spec.kind}/${spec.owner}`;
    const cur = this.#held.get(key)?.ranges ?? [];
    const ranges =
      spec.kind === 'flock'
        ? [{ type, start: 0, end: Number.POSITIVE_INFINITY }]
        : applyRange(cur, start, toEnd(start, length), type);
    this.#held.set(key, { spec, ranges });
  }

  /** Drops a range (POSIX) or the flock; releasing what isn't held is not an error. */
  async unlock(spec: LockSpec): Promise<void> {
    this.#check();
    const start = spec.kind === 'flock' ? 0 : (spec.start ?? 0);
    const length = spec.kind === 'flock' ? 0 : (spec.length ?? 0);
    const key = `${spec.ino}/${spec.kind}/${spec.owner}`;
    const h = this.#held.get(key);
    if (!h) return; // nothing held: the server has nothing of ours either
    await this.rpc.call(
      this.rpc.clients.lock,
      'Release',
      { ino: spec.ino, kind: wire(spec.kind), start, length, client: this.clientId, owner: spec.owner },
      { idempotent: true },
    );
    const ranges = spec.kind === 'flock' ? [] : applyRange(h.ranges, start, toEnd(start, length));
    if (ranges.length) this.#held.set(key, { spec, ranges });
    else this.#held.delete(key);
    this.#maybeStop();
  }

  /** F_GETLK: the first lock of another owner that `type` on the range would conflict with. */
  async test(spec: LockSpec, type: LockType): Promise<LockConflict | undefined> {
    this.#check();
    const r = await this.rpc.call<object, TestLockResponse__Output>(this.rpc.clients.lock, 'Test', {
      ino: spec.ino,
      kind: wire(spec.kind),
      type: wireType(type),
      start: spec.start ?? 0,
      length: spec.length ?? 0,
      client: this.clientId,
      owner: spec.owner,
      pid: this.pid,
    });
    if (!r.conflict) return undefined;
    return {
      type: r.type === 'LOCK_TYPE_WRITE' ? 'write' : 'read',
      start: r.start,
      length: r.length,
      pid: r.pid,
    };
  }

  /** What this client holds (for tests and diagnostics). */
  held(): Array<{ ino: number; kind: LockKind; owner: string; ranges: readonly HeldRange[] }> {
    return [...this.#held.values()].map((h) => ({ ...h.spec, ranges: h.ranges }));
  }

  /** Releases everything this client holds (best effort: the lease ends it anyway). */
  async close(): Promise<void> {
    if (this.#closed) return;
    const all = [...this.#held.values()];
    await Promise.allSettled(all.map((h) => this.unlock({ ...h.spec, start: 0, length: 0 })));
    this.#closed = true;
    this.#stop();
  }

  #check(): void {
    if (this.#closed) throw new KisekiError('KISEKI_E_BADF', 'the client is closed');
  }

  async #ensureLease(): Promise<void> {
    if (this.#timer) return;
    const lease = await this.#renew();
    this.#timer = setInterval(
      () => {
        this.#renew().catch(() => {}); // a missed renewal is retried; the lease covers three
      },
      Math.max(200, Math.floor(lease / 3)),
    );
    this.#timer.unref();
  }

  async #renew(): Promise<number> {
    const r = await this.rpc.call<object, RenewLockLeaseResponse__Output>(this.rpc.clients.lock, 'Renew', {
      client: this.clientId,
    });
    if (this.#epoch !== undefined && r.epoch !== this.#epoch) await this.#reclaim();
    this.#epoch = r.epoch;
    return r.leaseMs;
  }

  /** The server restarted and lost its lock table: take back exactly what we held. */
  async #reclaim(): Promise<void> {
    for (const { spec, ranges } of this.#held.values()) {
      for (const h of ranges) {
        await this.rpc.call(
          this.rpc.clients.lock,
          'Acquire',
          {
            ino: spec.ino,
            kind: wire(spec.kind),
            type: wireType(h.type),
            start: h.start,
            length: h.end === Number.POSITIVE_INFINITY ? 0 : h.end - h.start + 1,
            client: this.clientId,
            owner: spec.owner,
            pid: this.pid,
            wait: false,
            reclaim: true,
          },
          { idempotent: true },
        );
      }
    }
  }

  #maybeStop(): void {
    if (this.#held.size === 0 && this.#waiting === 0) this.#stop();
  }

  #stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
