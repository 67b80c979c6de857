/**
 * PoolStore: one affinity pool's chunks spread over its devices. A chunk is stored as the
 * pieces its durability policy asks for (I-C4): EC k+m fragments (chunk/ec) or N full copies,
 * each on a different device chosen by `placeChunk` (I-C3), each in an extent of that device's
 * DeviceAllocator (so every piece carries a CRC-32C and an owner tag).
 *
 * - `put` resolves only when every piece is durable on its device (what I-L5 builds on).
 * - `get` reads the pieces it needs and reconstructs from any k good fragments (or any good
 *   copy); a corrupt piece is treated as missing, never returned (CRC checks at both layers).
 * - `repair` (scrub) reads every piece, rebuilds the missing or damaged ones and writes them to
 *   healthy devices (the same device when it is still up, else a new one by placement), and
 *   moves pieces off draining devices (evacuation). The replaced extents are freed only by
 *   `release`, after the caller stored the new location.
 * - Every piece is checked against its owner tag (chunk id + index) as well as its CRC.
 *
 * The chunk → location index is the caller's (it lives with the chunk index); this class is
 * stateless beyond its device list. Devices here are local allocators; remote devices (the
 * fabric) implement the same `PieceDevice` interface later.
 */
import type { ChunkIdHex } from '@kiseki/proto';
import { invariant, KisekiError } from '@kiseki/proto';
import type { DeviceAllocator, ExtentRef } from '../../block/index.ts';
import { decodeChunk, encodeChunk } from '../ec/index.ts';
import { type DeviceId, type NodeId, type PlacementDevice, placeChunk } from './placement.ts';
import { currentPolicy, type DurabilityPolicy, type PoolDefinition, piecesOf, policyAt } from './policy.ts';

/** What a pool needs of a device: a DeviceAllocator locally, a remote stub later. */
export interface PieceDevice {
  readonly deviceId: DeviceId;
  readonly nodeId: NodeId;
  /** 'down' devices are neither read nor written; 'draining' ones are read but get no new pieces. */
  state: 'active' | 'draining' | 'down';
  write(payload: Uint8Array, owner: Uint8Array): Promise<ExtentRef>;
  read(ref: ExtentRef): Promise<{ payload: Uint8Array; owner: Uint8Array }>;
  free(ref: ExtentRef): Promise<void>;
  readonly stats: { blocks: number; usedBlocks: number; blockSizeBytes: number };
}

/** A local DeviceAllocator as a pool device. */
export function localDevice(deviceId: string, nodeId: string, allocator: DeviceAllocator): PieceDevice {
  return {
    deviceId: deviceId as DeviceId,
    nodeId: nodeId as NodeId,
    state: 'active',
    write: (payload, owner) => allocator.write(payload, owner),
    read: (ref) => allocator.read(ref),
    free: (ref) => allocator.free(ref),
    get stats() {
      return allocator.stats;
    },
  };
}

export interface PieceLocation {
  readonly deviceId: DeviceId;
  readonly extent: ExtentRef;
}

export interface ChunkLocation {
  /** The pool's policy epoch the chunk was written in (I-C6): its code for life. */
  readonly epoch: number;
  /** Piece i (fragment i, or copy i) is at pieces[i]. */
  readonly pieces: readonly PieceLocation[];
}

export interface RepairResult {
  readonly location: ChunkLocation;
  /** Pieces that were missing or damaged and were rewritten. */
  readonly repaired: readonly number[];
  /** Good pieces moved off draining devices. */
  readonly moved: readonly number[];
  /** The replaced pieces: `release` them after storing `location`. */
  readonly release: readonly PieceLocation[];
}

/** Owner tag of piece `index` of a chunk: the chunk id's first 15 bytes and the index. */
function ownerTag(chunkId: ChunkIdHex, index: number): Uint8Array {
  const tag = Buffer.alloc(16);
  Buffer.from(chunkId.slice(0, 30), 'hex').copy(tag, 0);
  tag[15] = index;
  return tag;
}

export class PoolStore {
  private readonly devices: Map<DeviceId, PieceDevice>;

  constructor(
    private pool: PoolDefinition,
    devices: readonly PieceDevice[],
  ) {
    this.devices = new Map(devices.map((d) => [d.deviceId, d]));
    invariant(this.devices.size === devices.length, 'device ids are unique');
  }

  /** Replaces the pool definition (a new durability epoch: new chunks only, I-C6). */
  setPool(pool: PoolDefinition): void {
    invariant(
      pool.id === this.pool.id && pool.policies.length >= this.pool.policies.length,
      'same pool, history kept',
    );
    this.pool = pool;
  }

  /**
   * Stores a chunk under the pool's current policy; resolves when every piece is durable.
   * A failed piece write frees the pieces already written and rejects. Placement errors:
   * KISEKI_E_CAPACITY_CRITICAL / NOSPC (I-C5), KISEKI_E_UNAVAILABLE (too few devices up).
   */
  async put(chunkId: ChunkIdHex, bytes: Uint8Array): Promise<ChunkLocation> {
    const { epoch, policy } = currentPolicy(this.pool);
    const pieces =
      policy.kind === 'ec' ? encodeChunk(bytes, policy) : Array.from({ length: policy.copies }, () => bytes);
    const targets = placeChunk(
      { chunkId, policy, deviceClass: this.pool.deviceClass, pieceBytes: pieces[0]!.length },
      this.placementView(),
    );
    const written = await Promise.allSettled(
      targets.map((t, i) => this.device(t.deviceId).write(pieces[i]!, ownerTag(chunkId, i))),
    );
    const failed = written.find((r) => r.status === 'rejected');
    if (failed !== undefined) {
      await Promise.allSettled(
        written.map((r, i) =>
          r.status === 'fulfilled' ? this.device(targets[i]!.deviceId).free(r.value) : undefined,
        ),
      );
      throw (failed as PromiseRejectedResult).reason;
    }
    return {
      epoch,
      pieces: written.map((r, i) => ({
        deviceId: targets[i]!.deviceId,
        extent: (r as PromiseFulfilledResult<ExtentRef>).value,
      })),
    };
  }

  /**
   * The chunk's bytes, from whatever pieces are readable. Fewer than k good fragments (or no
   * good copy) → KISEKI_E_UNAVAILABLE; `degraded` lists the pieces that could not be used.
   */
  async get(chunkId: ChunkIdHex, loc: ChunkLocation): Promise<{ bytes: Uint8Array; degraded: number[] }> {
    const policy = policyAt(this.pool, loc.epoch);
    if (policy.kind === 'replicas') {
      const degraded: number[] = [];
      for (const [i, p] of loc.pieces.entries()) {
        const got = await this.readPiece(chunkId, i, p);
        if (got !== undefined) return { bytes: got, degraded };
        degraded.push(i);
      }
      throw new KisekiError(
        'KISEKI_E_UNAVAILABLE',
        `no readable copy of the chunk among ${loc.pieces.length}; it returns with its devices`,
      );
    }
    const out = decodeChunk(await this.readAll(chunkId, loc), policy);
    const degraded = [...out.rebuilt.keys()].sort((a, b) => a - b);
    return { bytes: out.chunk, degraded };
  }

  /**
   * Reads every piece and rewrites the missing or damaged ones: on the same device when it
   * is up (a fresh extent; the bad one is freed), else on a device that holds no piece of the
   * chunk. Returns the new location (store it before freeing anything else that points at
   * the old one). Unrecoverable → KISEKI_E_UNAVAILABLE.
   */
  async repair(chunkId: ChunkIdHex, loc: ChunkLocation): Promise<RepairResult> {
    const policy = policyAt(this.pool, loc.epoch);
    const got = await this.readAll(chunkId, loc);
    const rebuilt = new Map<number, Uint8Array>();
    if (policy.kind === 'ec') {
      for (const [i, f] of decodeChunk(got, policy).rebuilt) rebuilt.set(i, f);
    } else {
      const good = got.find((c) => c !== undefined);
      if (good === undefined)
        throw new KisekiError('KISEKI_E_UNAVAILABLE', 'no readable copy left to repair from');
      for (const [i, c] of got.entries()) if (c === undefined) rebuilt.set(i, good);
    }
    // Good pieces on draining devices move as they are (evacuation).
    const moved = loc.pieces.flatMap((p, i) =>
      !rebuilt.has(i) && this.devices.get(p.deviceId)?.state === 'draining' ? [i] : [],
    );
    const writes = new Map(rebuilt);
    for (const i of moved) writes.set(i, got[i]!);
    if (writes.size === 0) return { location: loc, repaired: [], moved: [], release: [] };
    const pieces = [...loc.pieces];
    const release: PieceLocation[] = [];
    const holding = new Set(loc.pieces.map((p) => p.deviceId));
    for (const [i, bytes] of [...writes].sort((a, b) => a[0] - b[0])) {
      const old = loc.pieces[i]!;
      const target =
        this.devices.get(old.deviceId)?.state === 'active'
          ? old.deviceId
          : this.replacementFor(chunkId, policy, holding, bytes.length);
      const extent = await this.device(target).write(bytes, ownerTag(chunkId, i));
      pieces[i] = { deviceId: target, extent };
      holding.add(target);
      release.push(old);
    }
    return {
      location: { epoch: loc.epoch, pieces },
      repaired: [...rebuilt.keys()].sort((a, b) => a - b),
      moved,
      release,
    };
  }

  /**
   * Moves pieces so the chunk sits where placement puts it now (after devices were added):
   * only pieces on devices that left the chunk's ideal set move, each to a device that joined
   * it, so adding one device moves at most one piece per chunk (rendezvous hashing). Like
   * `repair`, the old pieces are freed only by `release`. Unreadable pieces are left to repair.
   */
  async rebalance(chunkId: ChunkIdHex, loc: ChunkLocation): Promise<RepairResult> {
    const policy = policyAt(this.pool, loc.epoch);
    const current = loc.pieces.map((p) => p.deviceId);
    let ideal: DeviceId[];
    try {
      ideal = placeChunk(
        { chunkId, policy, deviceClass: this.pool.deviceClass },
        this.placementView().filter((d) => d.state === 'active'),
      ).map((d) => d.deviceId);
    } catch {
      return { location: loc, repaired: [], moved: [], release: [] }; // no better place now
    }
    const arriving = ideal.filter((d) => !current.includes(d));
    const leaving = current.flatMap((d, i) => (ideal.includes(d) ? [] : [i]));
    const pieces = [...loc.pieces];
    const moved: number[] = [];
    const release: PieceLocation[] = [];
    for (const [j, i] of leaving.entries()) {
      const target = arriving[j];
      if (target === undefined) break;
      const bytes = await this.readPiece(chunkId, i, loc.pieces[i]!);
      if (bytes === undefined) continue;
      const extent = await this.device(target).write(bytes, ownerTag(chunkId, i));
      pieces[i] = { deviceId: target, extent };
      moved.push(i);
      release.push(loc.pieces[i]!);
    }
    return { location: { epoch: loc.epoch, pieces }, repaired: [], moved, release };
  }

  /** Adds a device to the pool (new pieces may land on it; `rebalance` moves old ones). */
  addDevice(device: PieceDevice): void {
    invariant(!this.devices.has(device.deviceId), `device ${device.deviceId} is new to the pool`);
    this.devices.set(device.deviceId, device);
  }

  /**
   * Frees pieces `repair` replaced, once the caller has durably stored the new location (a
   * crash before that leaves the old location valid). Pieces on down devices are skipped.
   */
  async release(pieces: readonly PieceLocation[]): Promise<void> {
    await Promise.all(
      pieces.map((p) => {
        const d = this.devices.get(p.deviceId);
        return d !== undefined && d.state !== 'down' ? d.free(p.extent).catch(() => undefined) : undefined;
      }),
    );
  }

  /** Frees every piece on devices that are up (pieces on down devices leak until those devices are wiped). */
  async delete(loc: ChunkLocation): Promise<void> {
    await this.release(loc.pieces);
  }

  // ---- internals --------------------------------------------------------------------------

  private device(id: DeviceId): PieceDevice {
    const d = this.devices.get(id);
    invariant(d !== undefined, `device ${id} is in the pool`);
    return d;
  }

  private placementView(): PlacementDevice[] {
    return [...this.devices.values()].map((d) => ({
      deviceId: d.deviceId,
      nodeId: d.nodeId,
      state: d.state,
      usedBytes: d.stats.usedBlocks * d.stats.blockSizeBytes,
      capacityBytes: d.stats.blocks * d.stats.blockSizeBytes,
    }));
  }

  /** The best placement-ranked active device that holds no piece of this chunk yet. */
  private replacementFor(
    chunkId: ChunkIdHex,
    policy: DurabilityPolicy,
    holding: Set<DeviceId>,
    pieceBytes: number,
  ): DeviceId {
    const free = this.placementView().filter((d) => !holding.has(d.deviceId));
    const one: DurabilityPolicy = { kind: 'replicas', copies: 1 };
    try {
      return placeChunk({ chunkId, policy: one, deviceClass: this.pool.deviceClass, pieceBytes }, free)[0]!
        .deviceId;
    } catch (err) {
      throw new KisekiError(
        'KISEKI_E_UNAVAILABLE',
        `no device outside the chunk's ${piecesOf(policy)} can take a rebuilt piece: add a device (${(err as Error).message})`,
        { cause: err },
      );
    }
  }

  /**
   * Piece `index` of the chunk, or undefined when its device is down, the piece is unreadable
   * or corrupt, or the extent holds something else (its owner tag is not this piece's: e.g. a
   * location older than a repair whose extents were released and reused).
   */
  private async readPiece(
    chunkId: ChunkIdHex,
    index: number,
    p: PieceLocation,
  ): Promise<Uint8Array | undefined> {
    const d = this.devices.get(p.deviceId);
    if (d === undefined || d.state === 'down') return undefined;
    try {
      const { payload, owner } = await d.read(p.extent);
      return Buffer.from(owner).equals(ownerTag(chunkId, index)) ? payload : undefined;
    } catch (err) {
      if (err instanceof KisekiError) return undefined; // CORRUPT, UNAVAILABLE: rebuild from the others
      throw err;
    }
  }

  private readAll(chunkId: ChunkIdHex, loc: ChunkLocation): Promise<(Uint8Array | undefined)[]> {
    return Promise.all(loc.pieces.map((p, i) => this.readPiece(chunkId, i, p)));
  }
}
