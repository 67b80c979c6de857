/**
 * Placement: which devices hold a chunk's pieces (I-C3, I-C4). Rendezvous (highest random
 * weight) hashing over the pool's devices, so each chunk has its own device order and adding
 * or removing a device moves only the pieces that land on or left it; then spread across
 * nodes: first the best device of as many distinct nodes as there are pieces, then the rest
 * with at most ceil(pieces / nodes) pieces per node. With EC 4+2 over 3 nodes that is 2 pieces
 * per node, so a whole node (or any 2 devices) can be lost and the chunk still reads.
 *
 * Devices at Critical or Full (I-C5), draining or down take no new pieces. Pure and
 * deterministic: the same inputs give the same placement on every node.
 */
import { createHash } from 'node:crypto';
import { type Brand, KisekiError } from '@kiseki/proto';
import { capacityState } from './capacity.ts';
import { type DeviceClass, type DurabilityPolicy, piecesOf } from './policy.ts';

export type DeviceId = Brand<string, 'DeviceId'>;
export type NodeId = Brand<string, 'NodeId'>;

export interface PlacementDevice {
  readonly deviceId: DeviceId;
  readonly nodeId: NodeId;
  readonly state: 'active' | 'draining' | 'down';
  readonly usedBytes: number;
  readonly capacityBytes: number;
  /** Relative share of new pieces (e.g. proportional to capacity). Default 1. */
  readonly weight?: number;
}

export interface PlaceRequest {
  /** Hex chunk id: the rendezvous key. */
  readonly chunkId: string;
  readonly policy: DurabilityPolicy;
  readonly deviceClass: DeviceClass;
  /** Bytes one piece takes on a device (for the Full check). Default 0. */
  readonly pieceBytes?: number;
}

/** 64-bit rendezvous score in (0, 1] of (chunk, device), scaled by weight: -w / ln(u). */
function score(chunkId: string, d: PlacementDevice): number {
  const h = createHash('sha256').update(chunkId).update('\0').update(d.deviceId).digest();
  // 53 bits → u in (0, 1]: never 0, so ln(u) is finite.
  const u = (Number(h.readBigUint64BE(0) >> 11n) + 1) / 2 ** 53;
  return -(d.weight ?? 1) / Math.log(u === 1 ? 1 - 2 ** -53 : u);
}

/**
 * The devices for each piece of the chunk, piece i on result[i]. Errors (KisekiError): fewer
 * eligible devices than pieces because of capacity → KISEKI_E_CAPACITY_CRITICAL (I-C5), or
 * KISEKI_E_NOSPC when every device is Full; because devices are down/draining or absent →
 * KISEKI_E_UNAVAILABLE.
 */
export function placeChunk(req: PlaceRequest, devices: readonly PlacementDevice[]): PlacementDevice[] {
  const width = piecesOf(req.policy);
  const piece = req.pieceBytes ?? 0;
  const active = devices.filter((d) => d.state === 'active');
  const states = active.map((d) => capacityState(d.usedBytes, d.capacityBytes, req.deviceClass, piece));
  const eligible = active.filter((_, i) => states[i] === 'ok' || states[i] === 'warning');
  if (eligible.length < width) {
    const what = `${width} pieces need ${width} devices; ${eligible.length} of ${devices.length} can take them`;
    if (active.length > 0 && states.every((s) => s === 'full')) {
      throw new KisekiError('KISEKI_E_NOSPC', `every device of the pool is full: ${what}; add devices`);
    }
    if (active.length >= width) {
      throw new KisekiError(
        'KISEKI_E_CAPACITY_CRITICAL',
        `devices past the critical threshold take no new data: ${what}; free space or add devices`,
      );
    }
    throw new KisekiError('KISEKI_E_UNAVAILABLE', `too few devices up: ${what}`);
  }
  const ranked = eligible
    .map((d) => ({ d, s: score(req.chunkId, d) }))
    .sort((a, b) => b.s - a.s || (a.d.deviceId < b.d.deviceId ? -1 : 1))
    .map((x) => x.d);
  const nodes = new Set(ranked.map((d) => d.nodeId)).size;
  const perNodeMax = Math.ceil(width / nodes);
  const chosen: PlacementDevice[] = [];
  const taken = new Set<DeviceId>();
  const perNode = new Map<NodeId, number>();
  const take = (d: PlacementDevice) => {
    chosen.push(d);
    taken.add(d.deviceId);
    perNode.set(d.nodeId, (perNode.get(d.nodeId) ?? 0) + 1);
  };
  // Pass 1: one piece per node, best nodes first. Pass 2: fill up to the per-node cap.
  for (const d of ranked) if (chosen.length < width && !perNode.has(d.nodeId)) take(d);
  for (const d of ranked) {
    if (chosen.length < width && !taken.has(d.deviceId) && (perNode.get(d.nodeId) ?? 0) < perNodeMax) take(d);
  }
  // Uneven nodes (one with too few devices): relax the cap rather than fail.
  for (const d of ranked) if (chosen.length < width && !taken.has(d.deviceId)) take(d);
  return chosen;
}
