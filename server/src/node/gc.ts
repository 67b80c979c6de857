/**
 * Chunk GC: frees chunks no composition references (I-C2) once they are older than a grace
 * period, so a chunk uploaded for a write that has not committed yet survives. Runs under each
 * namespace's mutation lock, so a write can't be validated against a chunk being freed.
 * A chunk that a live MVCC pin still references is kept too (I-V2: a pinned reader goes on
 * reading the old version while the file is rewritten). Retention holds (I-C2b) arrive with the
 * control plane's holds (issue 5).
 */
import type { Logger } from 'pino';
import type { Pins } from './pins.ts';
import type { NodeState } from './state.ts';

export const GC_CHUNKS_PER_PASS_MAX = 10_000;

export async function runGc(
  state: NodeState,
  graceMs: number,
  log: Logger,
  now = Date.now(),
  pins?: Pins,
): Promise<number> {
  let freed = 0;
  for (const t of state.shards()) {
    await t.namespace.exclusive(async () => {
      const pinned = pins?.snapshots(t.tenant) ?? [];
      const victims = [];
      for (const c of state.chunks.list(t.tenant as never)) {
        if (victims.length >= GC_CHUNKS_PER_PASS_MAX) break;
        if (now - Math.max(c.createdAtMs, c.lastTouchedMs) < graceMs) continue;
        if (state.view.chunkRefs(t.tenant, c.chunkId) > 0) continue;
        if (pinned.some((transaction) => state.view.chunkRefs(t.tenant, c.chunkId, { transaction }) > 0))
          continue;
        victims.push(c.chunkId);
      }
      for (const id of victims) {
        await state.chunks.delete(t.tenant as never, id);
        freed++;
      }
    });
  }
  if (freed) log.info({ freed }, 'chunk GC freed unreferenced chunks');
  return freed;
}
