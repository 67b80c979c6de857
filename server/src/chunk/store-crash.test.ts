/**
 * Crash consistency, driven by fast-check: random groups of concurrent puts and deletes, with
 * a crash injected at the k-th pass through one FaultPoint. The crashed device keeps its
 * synced bytes plus a random subset of unsynced blocks (torn writes). After reopening:
 * - the start-up reconciliation found nothing to repair (no leaked or unmarked blocks);
 * - the bitmap agrees with the index (no overlaps, no leaks: checkConsistency);
 * - every acknowledged put reads back identical, every acknowledged delete is gone, and an
 *   operation in flight at the crash left the chunk either intact or absent, never corrupt.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KisekiError } from '@kiseki/proto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryDevice } from '../block/index.ts';
import { ChunkStore, type FaultPoint } from './store.ts';
import { envelope, idOf, TENANT } from './testdata/envelopes.ts';

const POINTS: FaultPoint[] = [
  'put:reserved',
  'put:written',
  'commit:synced',
  'commit:before-txn',
  'commit:after-txn',
];
const IDS = 12;

type Op = { kind: 'put'; slot: number; lengthBytes: number } | { kind: 'delete'; slot: number };
interface Slot {
  state: 'present' | 'absent' | 'unknown';
  candidates: Set<string>;
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('put' as const),
      slot: fc.nat(IDS - 1),
      lengthBytes: fc.integer({ min: 80, max: 40_000 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), slot: fc.nat(IDS - 1) }) },
);

describe('ChunkStore crash consistency', () => {
  it('I-C8, I-L5: a crash at any write step leaves a consistent store and loses no acknowledged put', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(opArb, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 6 }),
        fc.constantFrom(...POINTS),
        fc.nat(12),
        fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }),
        async (groups, point, crashAt, survivors) => {
          const dir = await mkdtemp(join(tmpdir(), 'kiseki-crash-'));
          try {
            await runScenario(dir, groups, point, crashAt, survivors);
          } finally {
            await rm(dir, { recursive: true, force: true });
          }
        },
      ),
      { numRuns: Number(process.env.KISEKI_CRASH_RUNS ?? 60) },
    );
  });
});

async function runScenario(
  dir: string,
  groups: Op[][],
  point: FaultPoint,
  crashAt: number,
  survivors: boolean[],
): Promise<void> {
  // Each put writes bytes of its own, so a stale or torn read can't pass for another put's.
  const bytesOf = new Map<string, Buffer>(); // `${slot}:${lengthBytes}` → envelope
  const ids = Array.from({ length: IDS }, (_, slot) => idOf(envelope(slot, 64))); // one chunk id per slot
  // Model: 'present' holds one of `candidates`; 'unknown' holds one of them or nothing.
  const slots: Slot[] = Array.from({ length: IDS }, () => ({
    state: 'absent',
    candidates: new Set<string>(),
  }));
  let seen = 0;
  let crashed = false;
  const dev = new MemoryDevice({ sizeBytes: 8 << 20 });
  const s = await ChunkStore.open({
    dir,
    device: dev,
    faultHook: (p) => {
      if (p === point && seen++ === crashAt) {
        crashed = true;
        throw new Error(`injected crash at ${p}`);
      }
    },
  });
  const expectedFailure = (err: unknown) => {
    if (!(crashed || err instanceof KisekiError)) throw err;
  };

  for (const group of groups) {
    if (crashed) break;
    const busy = new Set<number>();
    const ops = group.filter((op) => !busy.has(op.slot) && busy.add(op.slot)); // one op per slot per group
    await Promise.all(
      ops.map(async (op) => {
        const id = ids[op.slot]!;
        const before = slots[op.slot]!;
        if (op.kind === 'put') {
          const key = `${op.slot}:${op.lengthBytes}`;
          const bytes = envelope(op.slot * 100_003 + op.lengthBytes, op.lengthBytes);
          bytesOf.set(key, bytes);
          try {
            const { created } = await s.put(TENANT, id, bytes);
            if (before.state === 'present') expect(created).toBe(false);
            slots[op.slot] = { state: 'present', candidates: created ? new Set([key]) : before.candidates };
          } catch (err) {
            expectedFailure(err);
            if (before.state !== 'present') {
              const candidates = new Set(before.state === 'absent' ? [key] : [...before.candidates, key]);
              slots[op.slot] = { state: 'unknown', candidates };
            }
          }
        } else {
          try {
            await s.delete(TENANT, id);
            slots[op.slot] = { state: 'absent', candidates: new Set() };
          } catch (err) {
            expectedFailure(err);
            if (before.state === 'present')
              slots[op.slot] = { state: 'unknown', candidates: before.candidates };
          }
        }
      }),
    );
  }
  await s.close();

  const image = dev.crashImage((block) => survivors[block % survivors.length]!);
  const again = await ChunkStore.open({ dir, device: image });
  try {
    expect(again.openReport.leakedBlocksFreed).toBe(0);
    expect(again.openReport.unmarkedBlocksRepaired).toBe(0);
    again.checkConsistency();
    for (let slot = 0; slot < IDS; slot++) {
      const { state, candidates } = slots[slot]!;
      let got: Buffer | undefined;
      try {
        got = await again.get(TENANT, ids[slot]!);
      } catch (err) {
        if (!(err instanceof KisekiError && err.code === 'KISEKI_E_NOENT')) throw err; // CORRUPT fails the test
      }
      if (state === 'absent') expect(got, `slot ${slot} was deleted or never stored`).toBeUndefined();
      if (state === 'present') expect(got, `slot ${slot} was acknowledged`).toBeDefined();
      if (got !== undefined) {
        const ok = [...candidates].some((k) => bytesOf.get(k)!.equals(got));
        expect(ok, `slot ${slot} holds the bytes of a put that created it`).toBe(true);
      }
    }
    // A store that survived a crash keeps working.
    const fresh = envelope(999, 5000);
    expect(await again.put(TENANT, idOf(fresh), fresh)).toEqual({ created: true });
    again.checkConsistency();
  } finally {
    await again.close();
  }
}
