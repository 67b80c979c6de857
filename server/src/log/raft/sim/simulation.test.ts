import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  FAULT_TICKS_DEFAULT,
  profileForSeed,
  QUIET_TICKS_DEFAULT,
  runSimulation,
  SimulationFailure,
} from './cluster.ts';

/**
 * CI runs a fixed set of seeds. To replay one exactly (the failure message prints the command):
 *   KISEKI_RAFT_SEED=<seed> npx vitest run server/src/log/raft/sim
 * with KISEKI_RAFT_TRACE=1 to print every step. Longer runs: sim/long-run.ts.
 */
const env = process.env;
const replaySeed = env.KISEKI_RAFT_SEED === undefined ? undefined : Number(env.KISEKI_RAFT_SEED);
const CI_SEEDS = 400;
const seeds = replaySeed === undefined ? Array.from({ length: CI_SEEDS }, (_, i) => i + 1) : [replaySeed];
const fault_ticks = Number(env.KISEKI_RAFT_FAULT_TICKS ?? FAULT_TICKS_DEFAULT);
const quiet_ticks = Number(env.KISEKI_RAFT_QUIET_TICKS ?? QUIET_TICKS_DEFAULT);
const trace = env.KISEKI_RAFT_TRACE === '1' ? (line: string) => process.stderr.write(`${line}\n`) : undefined;

describe('I-L1, I-L2, I-L3: Raft under simulated faults — safety after every step, linearizable client history', () => {
  it.each(seeds)('seed %i', (seed) => {
    const report = runSimulation({ seed, fault_ticks, quiet_ticks, trace });
    expect(report.leaders).toBeGreaterThan(0);
    expect(report.committed).toBeGreaterThan(0);
  });

  it('covers 3- and 5-voter clusters, membership changes, crashes, partitions, snapshots and lossy links', () => {
    if (replaySeed !== undefined) return;
    const profiles = seeds.map(profileForSeed);
    expect(profiles.some((p) => p.voters === 3)).toBe(true);
    expect(profiles.some((p) => p.voters === 5)).toBe(true);
    expect(profiles.filter((p) => p.membership).length).toBeGreaterThan(seeds.length / 3);
    expect(profiles.filter((p) => p.crash_per_tick > 0).length).toBeGreaterThan(seeds.length / 3);
    expect(profiles.filter((p) => p.partition_per_tick > 0).length).toBeGreaterThan(seeds.length / 3);
    expect(profiles.filter((p) => p.loss > 0 && p.duplicate > 0 && p.reorder > 0).length).toBeGreaterThan(10);
  });
});

describe('simulator determinism', () => {
  it('a seed replays exactly: same steps, same trace', () => {
    const run = () => {
      const h = createHash('sha256');
      const report = runSimulation({
        seed: 7,
        fault_ticks: 150,
        quiet_ticks: 150,
        trace: (l) => h.update(l),
      });
      return { report, trace: h.digest('hex') };
    };
    const a = run();
    const b = run();
    expect(b.trace).toBe(a.trace);
    expect(b.report).toEqual(a.report);
  });

  it('a failure names its seed, step and the replay command', () => {
    const f = new SimulationFailure(
      42,
      1234,
      99,
      'election safety: …',
      'KISEKI_RAFT_SEED=42 npx vitest run server/src/log/raft/sim',
      ['t=99 s=1234 tick 1'],
    );
    expect(f.message).toMatch(/seed=42 step=1234 tick=99/);
    expect(f.message).toMatch(/KISEKI_RAFT_SEED=42/);
    expect(f.seed).toBe(42);
    expect(f.step).toBe(1234);
  });
});
