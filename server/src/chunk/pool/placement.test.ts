import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DeviceId, type NodeId, type PlacementDevice, placeChunk } from './placement.ts';
import { type DurabilityPolicy, piecesOf } from './policy.ts';

const GiB = 1 << 30;
const EC42: DurabilityPolicy = { kind: 'ec', k: 4, m: 2 };

function dev(node: number, i: number, over: Partial<PlacementDevice> = {}): PlacementDevice {
  return {
    deviceId: `n${node}-d${i}` as DeviceId,
    nodeId: `node-${node}` as NodeId,
    state: 'active',
    usedBytes: 0,
    capacityBytes: 100 * GiB,
    ...over,
  };
}

/** `nodes` nodes of `perNode` devices each. */
function cluster(nodes: number, perNode: number): PlacementDevice[] {
  return Array.from({ length: nodes * perNode }, (_, j) => dev(Math.floor(j / perNode), j % perNode));
}

const chunkArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
const req = (chunkId: string, policy: DurabilityPolicy = EC42) => ({
  chunkId,
  policy,
  deviceClass: 'ssd' as const,
});

describe('placement (rendezvous hashing, spread across nodes)', () => {
  it('I-C4: EC 4+2 on 3 nodes x 2 devices puts 2 pieces on each node: any 2 devices or 1 node can go', () => {
    fc.assert(
      fc.property(chunkArb, (chunkId) => {
        const placed = placeChunk(req(chunkId), cluster(3, 2));
        expect(new Set(placed.map((d) => d.deviceId)).size).toBe(6);
        const perNode = new Map<string, number>();
        for (const d of placed) perNode.set(d.nodeId, (perNode.get(d.nodeId) ?? 0) + 1);
        expect([...perNode.values()]).toEqual([2, 2, 2]);
      }),
      { numRuns: 200 },
    );
  });

  it('pieces go to distinct devices, as many nodes as possible, at most ceil(pieces / nodes) per node', () => {
    fc.assert(
      fc.property(
        chunkArb,
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 4 }),
        fc.oneof(
          fc.record({
            kind: fc.constant('ec' as const),
            k: fc.integer({ min: 1, max: 8 }),
            m: fc.integer({ min: 1, max: 4 }),
          }),
          fc.record({ kind: fc.constant('replicas' as const), copies: fc.integer({ min: 1, max: 5 }) }),
        ),
        (chunkId, nodes, perNode, policy) => {
          const devices = cluster(nodes, perNode);
          const width = piecesOf(policy);
          if (width > devices.length) {
            expect(() => placeChunk(req(chunkId, policy), devices)).toThrow(
              expect.objectContaining({ code: 'KISEKI_E_UNAVAILABLE' }),
            );
            return;
          }
          const placed = placeChunk(req(chunkId, policy), devices);
          expect(placed).toHaveLength(width);
          expect(new Set(placed.map((d) => d.deviceId)).size).toBe(width);
          const used = new Map<string, number>();
          for (const d of placed) used.set(d.nodeId, (used.get(d.nodeId) ?? 0) + 1);
          expect(used.size).toBe(Math.min(width, nodes));
          expect(Math.max(...used.values())).toBeLessThanOrEqual(Math.ceil(width / nodes));
          expect(placeChunk(req(chunkId, policy), [...devices].reverse())).toEqual(placed); // order-free, deterministic
        },
      ),
      { numRuns: 300 },
    );
  });

  it('adding a device on an existing node moves only pieces that land on it', () => {
    fc.assert(
      fc.property(chunkArb, fc.integer({ min: 0, max: 3 }), (chunkId, node) => {
        const before = cluster(4, 3);
        const after = [...before, dev(node, 99)];
        const a = placeChunk(req(chunkId), before).map((d) => d.deviceId);
        const b = placeChunk(req(chunkId), after).map((d) => d.deviceId);
        const added = `n${node}-d99` as DeviceId;
        if (!b.includes(added)) expect(b).toEqual(a);
        else expect(b.filter((x) => !a.includes(x))).toEqual([added]);
      }),
      { numRuns: 300 },
    );
  });

  it('spreads load: over many chunks every device gets a share near 1/n', () => {
    const devices = cluster(3, 4);
    const count = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      for (const d of placeChunk(req(i.toString(16).padStart(64, '0')), devices)) {
        count.set(d.deviceId, (count.get(d.deviceId) ?? 0) + 1);
      }
    }
    const mean = (3000 * 6) / devices.length;
    for (const c of count.values()) expect(Math.abs(c - mean) / mean).toBeLessThan(0.12);
  });

  it('I-C5: devices at Critical take no new pieces; too few left is CAPACITY_CRITICAL, all full is NOSPC', () => {
    const devices = cluster(3, 3).map((d, i) => (i % 3 === 0 ? { ...d, usedBytes: 86 * GiB } : d));
    fc.assert(
      fc.property(chunkArb, (chunkId) => {
        for (const d of placeChunk(req(chunkId), devices)) expect(d.usedBytes).toBe(0);
      }),
    );
    // HDD's threshold is 92%: 86% used is still allowed there.
    expect(placeChunk({ ...req('ab'.repeat(32)), deviceClass: 'hdd' }, devices)).toHaveLength(6);
    const crowded = cluster(3, 2).map((d, i) => (i < 2 ? { ...d, usedBytes: 90 * GiB } : d));
    expect(() => placeChunk(req('cd'.repeat(32)), crowded)).toThrow(
      expect.objectContaining({ code: 'KISEKI_E_CAPACITY_CRITICAL' }),
    );
    const full = cluster(3, 2).map((d) => ({ ...d, usedBytes: d.capacityBytes }));
    expect(() => placeChunk(req('ef'.repeat(32)), full)).toThrow(
      expect.objectContaining({ code: 'KISEKI_E_NOSPC' }),
    );
    const down = cluster(3, 2).map((d, i) => (i < 1 ? { ...d, state: 'down' as const } : d));
    expect(() => placeChunk(req('01'.repeat(32)), down)).toThrow(
      expect.objectContaining({ code: 'KISEKI_E_UNAVAILABLE' }),
    );
  });
});
