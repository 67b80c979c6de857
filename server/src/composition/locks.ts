/**
 * Advisory file locks shared by every client of a tenant: POSIX record locks (fcntl) and BSD
 * whole-file locks (flock), which on Linux don't interact with each other. Locks live in the
 * memory of the node that serves the namespace, held under a lease: a client that stops renewing
 * (killed, cut off) loses its locks after `leaseMs`. After a restart the table is empty and,
 * for one lease, only reclaims of locks clients held before are granted (their renewals tell
 * them the server epoch changed), so no new lock can slip in between. A marker file says
 * whether any lock may have been held when the process ended: without it there is nothing to
 * reclaim and no grace period.
 */

import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, rmSync } from 'node:fs';
import { invariant, KisekiError } from '@kiseki/proto';

export type LockKind = 'posix' | 'flock';
export type LockType = 'read' | 'write';

/** A byte range [start, end] (inclusive); end = Infinity reaches past any end of file. */
export interface LockRange {
  readonly start: number;
  readonly end: number;
}

export interface HeldLock extends LockRange {
  readonly ino: number;
  readonly kind: LockKind;
  readonly type: LockType;
  /** Client session id and the lock owner within it (FUSE lock_owner, an SDK handle). */
  readonly client: string;
  readonly owner: string;
  readonly pid: number;
}

export interface LockRequest extends LockRange {
  readonly tenant: string;
  readonly ino: number;
  readonly kind: LockKind;
  readonly type: LockType;
  readonly client: string;
  readonly owner: string;
  readonly pid: number;
  /** F_SETLKW / flock without LOCK_NB: wait (up to `waitMs`) instead of failing. */
  readonly wait: boolean;
  readonly reclaim: boolean;
}

export const LOCK_LEASE_MS_DEFAULT = 30_000;
/** A waiting request is answered "ask again" after this long, so calls stay bounded. */
export const LOCK_WAIT_SLICE_MS = 10_000;
/** Locks on one file (bounds the scans a request makes). */
export const LOCKS_PER_FILE_MAX = 10_000;

interface Waiter {
  readonly req: LockRequest;
  readonly resolve: (granted: boolean) => void;
  readonly timer: NodeJS.Timeout;
}

function overlaps(a: LockRange, b: LockRange): boolean {
  return a.start <= b.end && b.start <= a.end;
}

function conflicts(a: HeldLock | LockRequest, b: HeldLock | LockRequest): boolean {
  if (a.kind !== b.kind || a.ino !== b.ino) return false;
  if (a.client === b.client && a.owner === b.owner) return false;
  if (a.type === 'read' && b.type === 'read') return false;
  return a.kind === 'flock' || overlaps(a, b);
}

export class LockTable {
  /** Changes at every start: clients compare it to know they must reclaim. */
  readonly epoch = randomBytes(6).readUIntBE(0, 6);
  readonly #locks = new Map<string, HeldLock[]>(); // fileKey(tenant, ino) → locks
  readonly #waiters = new Map<string, Waiter[]>(); // tenant → queue, oldest first
  readonly #leases = new Map<string, number>(); // client → lease end
  readonly #graceUntilMs: number;
  #reaper: NodeJS.Timeout | undefined;
  /** Since when no lock has been held (the marker goes one lease later), or undefined. */
  #emptySinceMs: number | undefined;
  #markerOn: boolean;

  constructor(
    readonly leaseMs = LOCK_LEASE_MS_DEFAULT,
    private readonly clock: () => number = Date.now,
    private readonly waitSliceMs = LOCK_WAIT_SLICE_MS,
    /** The "locks may be held" marker (absent: always assume they may have been). */
    private readonly markerPath?: string,
  ) {
    this.#markerOn = markerPath ? existsSync(markerPath) : true;
    this.#graceUntilMs = this.#markerOn ? clock() + leaseMs : 0;
    this.#emptySinceMs = clock();
    this.#reaper = setInterval(() => this.expire(), Math.max(250, Math.floor(leaseMs / 4)));
    this.#reaper.unref();
  }

  close(): void {
    clearInterval(this.#reaper);
    this.#reaper = undefined;
    for (const q of this.#waiters.values()) for (const w of q) this.#settle(w, false);
    this.#waiters.clear();
  }

  /** Renews a client's lease; returns the server epoch and the lease. */
  renew(client: string): { epoch: number; leaseMs: number } {
    this.#leases.set(client, this.clock() + this.leaseMs);
    return { epoch: this.epoch, leaseMs: this.leaseMs };
  }

  inGrace(): boolean {
    return this.clock() < this.#graceUntilMs;
  }

  /** The first lock that would block `req`, if any (F_GETLK). */
  test(req: LockRequest): HeldLock | undefined {
    return (this.#locks.get(fileKey(req.tenant, req.ino)) ?? []).find((l) => conflicts(l, req));
  }

  /**
   * Takes a lock: true when granted, false when it conflicts (and `wait` is off) or the wait
   * slice ended (the caller asks again). Fails with EDEADLK when waiting would close a cycle.
   */
  async acquire(req: LockRequest): Promise<boolean> {
    checkRange(req);
    this.renew(req.client);
    if (this.inGrace() && !req.reclaim) {
      // Clients that held locks before the restart get them back first.
      if (!req.wait)
        throw new KisekiError('KISEKI_E_AGAIN', 'locks are being reclaimed after a restart: try again');
      await new Promise((r) => setTimeout(r, Math.min(this.waitSliceMs, this.#graceUntilMs - this.clock())));
      return false;
    }
    if (this.#grant(req)) return true;
    if (!req.wait) return false;
    if (req.kind === 'posix' && this.#wouldDeadlock(req))
      throw new KisekiError('KISEKI_E_DEADLK', 'waiting for this lock would deadlock');
    return new Promise<boolean>((resolve) => {
      const q = this.#waiters.get(req.tenant) ?? [];
      this.#waiters.set(req.tenant, q);
      const w: Waiter = {
        req,
        resolve,
        timer: setTimeout(() => {
          q.splice(q.indexOf(w), 1);
          resolve(false);
        }, this.waitSliceMs),
      };
      q.push(w);
    });
  }

  /** Unlocks a range (POSIX: splitting what it cuts) or a whole flock. */
  release(
    tenant: string,
    ino: number,
    kind: LockKind,
    client: string,
    owner: string,
    range: LockRange = { start: 0, end: Number.POSITIVE_INFINITY },
  ): void {
    checkRange(range);
    const key = fileKey(tenant, ino);
    const held = this.#locks.get(key);
    if (!held) return;
    const next: HeldLock[] = [];
    for (const l of held) {
      if (l.kind !== kind || l.client !== client || l.owner !== owner || !overlaps(l, range)) {
        next.push(l);
        continue;
      }
      if (l.start < range.start) next.push({ ...l, end: range.start - 1 });
      if (l.end > range.end) next.push({ ...l, start: range.end + 1 });
    }
    this.#set(key, next);
    this.#wake(tenant);
  }

  /** Drops every lock of a client (it went away) and cancels its waits. */
  releaseClient(client: string): void {
    this.#leases.delete(client);
    for (const [key, held] of this.#locks)
      this.#set(
        key,
        held.filter((l) => l.client !== client),
      );
    for (const [tenant, q] of [...this.#waiters]) {
      for (const w of q.filter((x) => x.req.client === client)) {
        q.splice(q.indexOf(w), 1);
        this.#settle(w, false);
      }
      this.#wake(tenant);
    }
  }

  /** Releases the locks of clients whose lease ran out; drops the marker once nothing has
   * been held for a lease (so flapping between 0 and 1 lock costs no file I/O). */
  expire(): void {
    const now = this.clock();
    for (const [client, until] of this.#leases) if (until <= now) this.releaseClient(client);
    if (this.#locks.size > 0) this.#emptySinceMs = undefined;
    else this.#emptySinceMs ??= now;
    if (
      this.markerPath &&
      this.#markerOn &&
      this.#emptySinceMs !== undefined &&
      now - this.#emptySinceMs >= this.leaseMs &&
      !this.inGrace()
    ) {
      rmSync(this.markerPath, { force: true });
      this.#markerOn = false;
    }
  }

  /** Before the first lock is granted: durably note that locks may be held. */
  #markHeld(): void {
    this.#emptySinceMs = undefined;
    if (this.#markerOn || !this.markerPath) return;
    const fd = openSync(this.markerPath, 'w', 0o600);
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.#markerOn = true;
  }

  held(tenant: string, ino: number): readonly HeldLock[] {
    return this.#locks.get(fileKey(tenant, ino)) ?? [];
  }

  #set(key: string, locks: HeldLock[]): void {
    if (locks.length) this.#locks.set(key, locks);
    else this.#locks.delete(key);
    if (this.#locks.size === 0) this.#emptySinceMs ??= this.clock();
  }

  #grant(req: LockRequest): boolean {
    const key = fileKey(req.tenant, req.ino);
    const held = this.#locks.get(key) ?? [];
    if (held.some((l) => conflicts(l, req))) return false;
    const mine = (l: HeldLock) =>
      l.ino === req.ino && l.kind === req.kind && l.client === req.client && l.owner === req.owner;
    let next: HeldLock[];
    if (req.kind === 'flock') {
      // One flock per owner and file: a new one converts the old (shared ↔ exclusive).
      next = held.filter((l) => !mine(l));
    } else {
      // POSIX: the new range replaces this owner's locks where they overlap, splitting them.
      next = [];
      for (const l of held) {
        if (!mine(l) || !overlaps(l, req)) {
          next.push(l);
          continue;
        }
        if (l.start < req.start) next.push({ ...l, end: req.start - 1 });
        if (l.end > req.end) next.push({ ...l, start: req.end + 1 });
      }
    }
    if (next.length >= LOCKS_PER_FILE_MAX)
      throw new KisekiError('KISEKI_E_NOLCK', 'too many locks held on this file');
    const { ino, kind, type, client, owner, pid, start, end } = req;
    const lock: HeldLock = { ino, kind, type, client, owner, pid, start, end };
    invariant(!next.some((l) => conflicts(l, lock)), 'a granted lock conflicts with no held lock');
    this.#markHeld();
    next.push(lock);
    this.#set(key, next);
    return true;
  }

  /** Grants whatever waiting requests can now go, oldest first. */
  #wake(tenant: string): void {
    const q = this.#waiters.get(tenant);
    if (!q) return;
    for (const w of [...q]) {
      if (this.#grant(w.req)) {
        q.splice(q.indexOf(w), 1);
        this.#settle(w, true);
      }
    }
    if (q.length === 0) this.#waiters.delete(tenant);
  }

  #settle(w: Waiter, granted: boolean): void {
    clearTimeout(w.timer);
    w.resolve(granted);
  }

  /** Would `req` wait on an owner that (transitively) waits on req's owner? */
  #wouldDeadlock(req: LockRequest): boolean {
    const me = `${req.client}/${req.owner}`;
    const waits = this.#waiters.get(req.tenant) ?? [];
    const seen = new Set<string>();
    const blockers = (r: LockRequest | HeldLock) =>
      (this.#locks.get(fileKey(req.tenant, r.ino)) ?? [])
        .filter((l) => l.kind === 'posix' && conflicts(l, r))
        .map((l) => `${l.client}/${l.owner}`);
    const stack = blockers(req);
    while (stack.length) {
      const o = stack.pop()!;
      if (o === me) return true;
      if (seen.has(o)) continue;
      seen.add(o);
      for (const w of waits) if (`${w.req.client}/${w.req.owner}` === o) stack.push(...blockers(w.req));
    }
    return false;
  }
}

function fileKey(tenant: string, ino: number): string {
  return `${tenant}\0${ino}`;
}

function checkRange(r: LockRange): void {
  if (!(r.start >= 0) || !(r.end >= r.start) || !Number.isSafeInteger(r.start))
    throw new KisekiError('KISEKI_E_INVAL', 'lock range out of bounds');
  if (r.end !== Number.POSITIVE_INFINITY && !Number.isSafeInteger(r.end))
    throw new KisekiError('KISEKI_E_INVAL', 'lock range out of bounds');
}
