/**
 * A longer simulation run than CI's, from the command line:
 *
 *   node --import tsx server/src/log/raft/sim/long-run.ts --seeds 1000 [--from 1]
 *        [--fault-ticks 400] [--quiet-ticks 250] [--trace]
 *
 * Runs seeds from..from+seeds-1, prints a summary line per 100 seeds and every failure with its
 * replay command, and exits 1 if any seed failed. `--trace` prints every step (use with one seed).
 */

import { parseArgs } from 'node:util';
import { FAULT_TICKS_DEFAULT, QUIET_TICKS_DEFAULT, runSimulation, SimulationFailure } from './cluster.ts';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1000' },
    from: { type: 'string', default: '1' },
    'fault-ticks': { type: 'string', default: String(FAULT_TICKS_DEFAULT) },
    'quiet-ticks': { type: 'string', default: String(QUIET_TICKS_DEFAULT) },
    trace: { type: 'boolean', default: false },
  },
});

const count = Number(values.seeds);
const from = Number(values.from);
const fault_ticks = Number(values['fault-ticks']);
const quiet_ticks = Number(values['quiet-ticks']);
for (const [name, v] of [
  ['--seeds', count],
  ['--from', from],
  ['--fault-ticks', fault_ticks],
  ['--quiet-ticks', quiet_ticks],
] as const) {
  if (!Number.isSafeInteger(v) || v < 0) {
    process.stderr.write(`${name} must be a non-negative integer\n`);
    process.exit(2);
  }
}
const trace = values.trace ? (line: string) => process.stdout.write(`${line}\n`) : undefined;

const started = performance.now();
const totals = { steps: 0, committed: 0, crashes: 0, partitions: 0, snapshots: 0, confChanges: 0, ops: 0 };
const failures: string[] = [];
for (let seed = from; seed < from + count; seed++) {
  try {
    const r = runSimulation({ seed, fault_ticks, quiet_ticks, trace });
    totals.steps += r.steps;
    totals.committed += r.committed;
    totals.crashes += r.crashes;
    totals.partitions += r.partitions;
    totals.snapshots += r.snapshots_sent;
    totals.confChanges += r.conf_changes;
    totals.ops += r.history_ops;
  } catch (err) {
    if (!(err instanceof SimulationFailure)) throw err;
    failures.push(err.message);
    process.stdout.write(`${err.message}\n\n`);
  }
  const done = seed - from + 1;
  if (done % 100 === 0 || done === count) {
    const s = ((performance.now() - started) / 1000).toFixed(1);
    process.stdout.write(
      `${done}/${count} seeds in ${s} s: ${totals.steps} steps, ${totals.committed} entries committed, ` +
        `${totals.ops} client ops checked, ${totals.crashes} crashes, ${totals.partitions} partitions, ` +
        `${totals.snapshots} snapshots sent, ${totals.confChanges} membership changes; ${failures.length} failed\n`,
    );
  }
}
process.exit(failures.length === 0 ? 0 : 1);
