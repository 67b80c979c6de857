/**
 * Seeded differential test: the same random sequence of POSIX calls (node:fs) runs against a
 * Kiseki FUSE mount and against a local directory. Every call must end the same way on both
 * (success with the same byte counts and bytes, or the same errno), and the trees must stay
 * identical: names, types, sizes, contents byte for byte, symlink targets. At the end a fresh
 * SDK session (no kernel or mount cache) must read the same tree from the server.
 *
 * Replay a failure with the seed and op count the failure message prints:
 *   KISEKI_SEED=<seed> KISEKI_DIFF_OPS=<n> npx vitest run --project e2e test/e2e/differential.test.ts
 * KISEKI_SEED may list several seeds (comma separated); KISEKI_DIFF_OPS sets ops per seed.
 */
import { createHash } from 'node:crypto';
import { constants as C } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import type { Kiseki } from '@kiseki/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanup,
  type MountHandle,
  mountFs,
  type ServerHandle,
  sdk,
  startServer,
  tempDir,
} from './harness.ts';
import { Rng } from './lib/prng.ts';
import { posixTree, sdkTree, type TreeListing, treeDifferences } from './lib/tree.ts';

const DEFAULT_SEEDS = [20260517, 7, 990001];
const SEEDS = process.env.KISEKI_SEED
  ? process.env.KISEKI_SEED.split(',').map((s) => Number.parseInt(s.trim(), 10))
  : DEFAULT_SEEDS;
const OPS_PER_SEED = Number(process.env.KISEKI_DIFF_OPS ?? 400);
const CHECK_EVERY_OPS = 25;

const MiB = 1024 * 1024;
/** Files stay below this, so a run's data stays bounded (offset + length is clamped). */
const FILE_BYTES_MAX = 6 * MiB;
const WRITE_BYTES_MAX = 3 * MiB;
const HOLE_BYTES_MAX = (5 * MiB) / 2;
/** Bias towards removals once the tree holds this many entries. */
const TREE_ENTRIES_SOFT_MAX = 60;
const DIR_DEPTH_MAX = 3;
const FILE_NAMES = ['f0', 'f1', 'f2', 'f3', 'f4', 'f5'];
const DIR_NAMES = ['d0', 'd1', 'd2', 'd3'];
const LINK_NAMES = ['l0', 'l1'];

type Op =
  | {
      t: 'write';
      path: string;
      offset: number;
      data: Buffer;
      open: 'plain' | 'trunc' | 'excl';
    }
  | { t: 'append'; path: string; data: Buffer }
  | { t: 'truncate'; path: string; size: number; via: 'ftruncate' | 'truncate' }
  | { t: 'rename'; from: string; to: string }
  | { t: 'unlink'; path: string }
  | { t: 'mkdir'; path: string }
  | { t: 'rmdir'; path: string }
  | { t: 'symlink'; target: string; path: string }
  | { t: 'hold'; path: string }
  | { t: 'heldRead'; offset: number; length: number }
  | { t: 'heldWrite'; offset: number; data: Buffer };

function describeOp(op: Op): string {
  switch (op.t) {
    case 'write':
      return `write(${op.path}, offset ${op.offset}, ${op.data.length} bytes, open ${op.open})`;
    case 'append':
      return `append(${op.path}, ${op.data.length} bytes)`;
    case 'truncate':
      return `${op.via}(${op.path}, ${op.size})`;
    case 'rename':
      return `rename(${op.from}, ${op.to})`;
    case 'symlink':
      return `symlink(${op.target}, ${op.path})`;
    case 'heldRead':
      return `read(held handle, offset ${op.offset}, ${op.length} bytes)`;
    case 'heldWrite':
      return `write(held handle, offset ${op.offset}, ${op.data.length} bytes)`;
    default:
      return `${op.t}(${op.path})`;
  }
}

type Outcome = { ok: true; value: string } | { ok: false; code: string; stage: string };

function fmtOutcome(o: Outcome): string {
  return o.ok ? `ok ${o.value}`.trim() : `${o.code} at ${o.stage}`;
}

function sameOutcome(a: Outcome, b: Outcome): boolean {
  return fmtOutcome(a) === fmtOutcome(b);
}

/** One side of the comparison: a root directory and the handle kept open across ops. */
interface Side {
  readonly label: string;
  readonly root: string;
  held?: fsp.FileHandle;
}

/** Runs `fn`, recording the stage it failed at; closes what it opened. */
async function attempt(fn: (stage: (s: string) => void) => Promise<string>): Promise<Outcome> {
  let at = 'start';
  try {
    return { ok: true, value: await fn((s) => (at = s)) };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { ok: false, code: e.code ?? `non-errno error: ${e.message}`, stage: at };
  }
}

async function withFile(
  path: string,
  flags: number,
  stage: (s: string) => void,
  use: (fh: fsp.FileHandle) => Promise<string>,
): Promise<string> {
  stage('open');
  const fh = await fsp.open(path, flags, 0o644);
  let result: string;
  try {
    result = await use(fh);
  } catch (err) {
    await fh.close().catch(() => {});
    throw err;
  }
  stage('close');
  await fh.close();
  return result;
}

function digest(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex').slice(0, 16);
}

async function apply(side: Side, op: Op): Promise<Outcome> {
  const p = (rel: string) => join(side.root, rel);
  switch (op.t) {
    case 'write': {
      const flags =
        C.O_RDWR | C.O_CREAT | (op.open === 'trunc' ? C.O_TRUNC : 0) | (op.open === 'excl' ? C.O_EXCL : 0);
      return attempt((stage) =>
        withFile(p(op.path), flags, stage, async (fh) => {
          stage('write');
          const { bytesWritten } = await fh.write(op.data, 0, op.data.length, op.offset);
          return `wrote ${bytesWritten}`;
        }),
      );
    }
    case 'append':
      return attempt((stage) =>
        withFile(p(op.path), C.O_WRONLY | C.O_APPEND | C.O_CREAT, stage, async (fh) => {
          stage('write');
          const { bytesWritten } = await fh.write(op.data, 0, op.data.length, null);
          return `wrote ${bytesWritten}`;
        }),
      );
    case 'truncate':
      if (op.via === 'truncate')
        return attempt(async (stage) => {
          stage('truncate');
          await fsp.truncate(p(op.path), op.size);
          return '';
        });
      return attempt((stage) =>
        withFile(p(op.path), C.O_RDWR, stage, async (fh) => {
          stage('ftruncate');
          await fh.truncate(op.size);
          return '';
        }),
      );
    case 'rename':
      return attempt(() => fsp.rename(p(op.from), p(op.to)).then(() => ''));
    case 'unlink':
      return attempt(() => fsp.unlink(p(op.path)).then(() => ''));
    case 'mkdir':
      return attempt(() => fsp.mkdir(p(op.path)).then(() => ''));
    case 'rmdir':
      return attempt(() => fsp.rmdir(p(op.path)).then(() => ''));
    case 'symlink':
      return attempt(() => fsp.symlink(op.target, p(op.path)).then(() => ''));
    case 'hold':
      return attempt(async (stage) => {
        stage('open');
        side.held = await fsp.open(p(op.path), C.O_RDWR);
        return '';
      });
    case 'heldRead':
      return attempt(async (stage) => {
        stage('read');
        const buf = Buffer.alloc(op.length);
        const { bytesRead } = await side.held!.read(buf, 0, op.length, op.offset);
        return `read ${bytesRead} sha256:${digest(buf.subarray(0, bytesRead))}`;
      });
    case 'heldWrite':
      return attempt(async (stage) => {
        stage('write');
        const { bytesWritten } = await side.held!.write(op.data, 0, op.data.length, op.offset);
        return `wrote ${bytesWritten}`;
      });
  }
}

/** Closes the held handle on one side; its outcome is compared like any op's. */
function releaseHeld(side: Side): Promise<Outcome> {
  const fh = side.held;
  side.held = undefined;
  if (!fh) return Promise.resolve({ ok: true, value: 'nothing held' });
  return attempt(async (stage) => {
    stage('close');
    await fh.close();
    return '';
  });
}

/**
 * Draws the next op from the local tree's current state (so generation depends only on the
 * seed: the local tree is the reference). Mostly valid targets, some deliberately wrong ones.
 */
function nextOp(rng: Rng, tree: TreeListing, holding: boolean): Op {
  const all = [...tree.keys()];
  const dirs = ['', ...all.filter((n) => tree.get(n)!.kind === 'dir')];
  const files = all.filter((n) => tree.get(n)!.kind === 'file');
  const depth = (rel: string) => (rel === '' ? 0 : rel.split('/').length);
  const join2 = (dir: string, name: string) => (dir ? `${dir}/${name}` : name);
  const sizeOf = (rel: string) => {
    const n = tree.get(rel);
    return n?.kind === 'file' ? n.size : 0;
  };
  const newName = (pool: readonly string[]) =>
    join2(rng.pick(dirs.filter((d) => depth(d) < DIR_DEPTH_MAX)), rng.pick(pool));
  /** A path that is wrong on purpose: under a file, under a missing dir, or missing. */
  const bogus = () =>
    rng.weighted({ underFile: files.length ? 1 : 0, missingDir: 1, missing: 1 }) === 'underFile'
      ? `${rng.pick(files)}/${rng.pick(FILE_NAMES)}`
      : rng.chance(0.5)
        ? `dz/${rng.pick(FILE_NAMES)}`
        : join2(rng.pick(dirs), 'nx');
  const existing = (of: readonly string[], pool: readonly string[]) =>
    rng.chance(0.08) ? bogus() : of.length && rng.chance(0.8) ? rng.pick(of) : newName(pool);
  const anyName = () => rng.pick([...FILE_NAMES, ...FILE_NAMES, ...DIR_NAMES, ...LINK_NAMES]);

  const crowded = all.length > TREE_ENTRIES_SOFT_MAX;
  const kind = rng.weighted({
    write: 26,
    append: 7,
    truncate: 11,
    rename: 12,
    unlink: crowded ? 20 : 7,
    mkdir: crowded ? 2 : 9,
    rmdir: crowded ? 12 : 6,
    symlink: 3,
    hold: 4,
    heldRead: holding ? 8 : 0,
    heldWrite: holding ? 4 : 0,
  });

  const dataLength = () => {
    const shape = rng.weighted({ empty: 4, small: 30, medium: 20, boundary: 20, large: 26 });
    if (shape === 'empty') return 0;
    if (shape === 'small') return rng.int(1, 4096);
    if (shape === 'medium') return rng.int(4097, 256 * 1024);
    if (shape === 'boundary') return rng.int(1, 2) * MiB + rng.int(-300, 300);
    return rng.int(1, WRITE_BYTES_MAX);
  };
  const offsetFor = (size: number) => {
    const where = rng.weighted({ zero: 15, eof: 15, inside: 25, hole: 20, boundary: 25 });
    if (where === 'zero') return 0;
    if (where === 'eof') return size;
    if (where === 'inside') return rng.int(0, size);
    if (where === 'hole') return size + rng.int(1, HOLE_BYTES_MAX);
    return Math.max(0, rng.int(0, 4) * MiB + rng.int(-5, 5));
  };
  /** Data of `length` bytes at `offset`, both clamped so the file stays under FILE_BYTES_MAX. */
  const placed = (offset: number, length: number) => {
    const off = Math.min(offset, FILE_BYTES_MAX - 1);
    return { offset: off, data: rng.bytes(Math.min(length, FILE_BYTES_MAX - off)) };
  };

  switch (kind) {
    case 'write': {
      const path = existing(files, FILE_NAMES);
      const open = rng.weighted({ plain: 85, trunc: 10, excl: 5 });
      const { offset, data } = placed(offsetFor(open === 'trunc' ? 0 : sizeOf(path)), dataLength());
      return { t: 'write', path, offset, data, open };
    }
    case 'append': {
      const path = existing(files, FILE_NAMES);
      return { t: 'append', path, data: placed(sizeOf(path), dataLength()).data };
    }
    case 'truncate': {
      const path = existing(files, FILE_NAMES);
      const size = sizeOf(path);
      const to = rng.weighted({ zero: 8, shrink: 35, grow: 30, aligned: 15, nearSize: 12 });
      const target =
        to === 'zero'
          ? 0
          : to === 'shrink'
            ? rng.int(0, size)
            : to === 'grow'
              ? size + rng.int(1, 2 * MiB)
              : to === 'aligned'
                ? rng.int(0, 4) * MiB
                : Math.max(0, size + rng.int(-2, 2));
      return {
        t: 'truncate',
        path,
        size: Math.min(target, FILE_BYTES_MAX),
        via: rng.chance(0.7) ? 'ftruncate' : 'truncate',
      };
    }
    case 'rename': {
      const from = rng.chance(0.12) ? bogus() : all.length ? rng.pick(all) : newName(FILE_NAMES);
      const dest = rng.weighted({ file: 30, dir: 15, fresh: 42, inside: 6, same: 7 });
      const dirsNotRoot = dirs.filter((d) => d !== '');
      const to =
        dest === 'file' && files.length
          ? rng.pick(files)
          : dest === 'dir' && dirsNotRoot.length
            ? rng.pick(dirsNotRoot)
            : dest === 'inside'
              ? `${from}/${rng.pick(DIR_NAMES)}`
              : dest === 'same'
                ? from
                : newName([...FILE_NAMES, ...DIR_NAMES]);
      return { t: 'rename', from, to };
    }
    case 'unlink': {
      // Mostly files and symlinks; sometimes any entry, directories included (EISDIR).
      const nonDirs = all.filter((n) => tree.get(n)!.kind !== 'dir');
      return {
        t: 'unlink',
        path: rng.chance(0.15) && all.length ? rng.pick(all) : existing(nonDirs, FILE_NAMES),
      };
    }
    case 'mkdir':
      return { t: 'mkdir', path: rng.chance(0.15) && all.length ? rng.pick(all) : existing([], DIR_NAMES) };
    case 'rmdir': {
      const dirsNotRoot = dirs.filter((d) => d !== '');
      return {
        t: 'rmdir',
        path: rng.chance(0.15) && all.length ? rng.pick(all) : existing(dirsNotRoot, DIR_NAMES),
      };
    }
    case 'symlink': {
      // Relative targets that never climb out of the tree: both roots resolve them alike.
      const target = rng.chance(0.7) && all.length ? rng.pick(all) : anyName();
      return { t: 'symlink', target, path: newName(LINK_NAMES) };
    }
    case 'hold':
      return { t: 'hold', path: existing(files, FILE_NAMES) };
    case 'heldRead':
      return { t: 'heldRead', offset: rng.int(0, FILE_BYTES_MAX), length: rng.int(1, (3 * MiB) / 2) };
    case 'heldWrite': {
      const { offset, data } = placed(
        rng.int(0, 4 * MiB),
        rng.int(0, 2) === 0 ? rng.int(1, 4096) : dataLength(),
      );
      return { t: 'heldWrite', offset, data };
    }
  }
}

describe('seeded differential test: Kiseki FUSE mount against a local directory', () => {
  let server: ServerHandle;
  let mnt: MountHandle;
  let local: string;
  let reader: Kiseki | undefined;

  beforeAll(async () => {
    server = await startServer({ deviceSizeBytes: 4 * 1024 ** 3 });
    mnt = await mountFs(server);
    local = tempDir('diff-local');
  });

  afterAll(async () => {
    await reader?.close().catch(() => {});
    await mnt?.unmount();
    await server?.stop();
    if (local) cleanup(local);
    if (mnt) cleanup(mnt.mountpoint);
    if (server) cleanup(server.home);
  });

  for (const seed of SEEDS) {
    it(`seed ${seed}: ${OPS_PER_SEED} random writes, appends, truncates, renames, unlinks, mkdirs and rmdirs end the same way as on a local filesystem and leave the same tree, also as the server holds it`, async () => {
      const rng = new Rng(seed);
      const base = `seed-${seed}`;
      const kiseki: Side = { label: 'kiseki', root: join(mnt.mountpoint, base) };
      const ref: Side = { label: 'local', root: join(local, base) };
      await fsp.mkdir(kiseki.root);
      await fsp.mkdir(ref.root);
      const replay = (i: number) =>
        `seed ${seed}, op #${i} (replay: KISEKI_SEED=${seed} KISEKI_DIFF_OPS=${i + 1} npx vitest run --project e2e test/e2e/differential.test.ts)`;
      const localTree = posixTree(ref.root, 'local');
      const kisekiTree = posixTree(kiseki.root, 'kiseki mount');
      const history: string[] = [];
      const fail = (i: number, what: string) =>
        new Error(`${replay(i)}\n${what}\nlast ops:\n  ${history.slice(-12).join('\n  ')}`);
      let heldIno: number | undefined;

      const closeHeld = async (i: number, why: string) => {
        const [a, b] = await Promise.all([releaseHeld(kiseki), releaseHeld(ref)]);
        history.push(`#${i} close held handle (${why}) → kiseki ${fmtOutcome(a)} | local ${fmtOutcome(b)}`);
        heldIno = undefined;
        if (!sameOutcome(a, b))
          throw fail(i, `closing the held handle: kiseki ${fmtOutcome(a)}, local ${fmtOutcome(b)}`);
      };
      /** The local inode at `rel` (not following a final symlink), if any. */
      const inoAt = (rel: string) =>
        fsp.lstat(join(ref.root, rel)).then(
          (s) => s.ino,
          () => undefined,
        );

      let ops = 0;
      const tally = new Map<string, number>();
      try {
        for (let i = 0; i < OPS_PER_SEED; i++) {
          const op = nextOp(rng, await localTree.list(), heldIno !== undefined);
          // libfuse2's high-level API renames an open file that is unlinked or replaced to
          // .fuse_hidden* instead of removing it; that case has its own test in faults.test.ts.
          // Here the handle is closed first, on both sides, so the trees stay comparable.
          if (heldIno !== undefined) {
            const gone =
              (op.t === 'unlink' && (await inoAt(op.path)) === heldIno) ||
              (op.t === 'rename' && op.from !== op.to && (await inoAt(op.to)) === heldIno);
            if (gone) await closeHeld(i, 'its file is about to be removed');
          }
          if (op.t === 'hold' && heldIno !== undefined) await closeHeld(i, 'holding another file');
          const [a, b] = await Promise.all([apply(kiseki, op), apply(ref, op)]);
          history.push(`#${i} ${describeOp(op)} → kiseki ${fmtOutcome(a)} | local ${fmtOutcome(b)}`);
          const key = `${op.t} ${b.ok ? 'ok' : b.code}`;
          tally.set(key, (tally.get(key) ?? 0) + 1);
          if (op.t === 'hold') heldIno = ref.held && kiseki.held ? (await ref.held.stat()).ino : undefined;
          if (!sameOutcome(a, b))
            throw fail(i, `${describeOp(op)}: kiseki ${fmtOutcome(a)}, local ${fmtOutcome(b)}`);
          ops++;
          if ((i + 1) % CHECK_EVERY_OPS === 0) {
            const diffs = await treeDifferences(kisekiTree, localTree);
            if (diffs.length) throw fail(i, `trees differ after op #${i}:\n  ${diffs.join('\n  ')}`);
          }
        }
        await closeHeld(OPS_PER_SEED, 'end of the run');
      } finally {
        // On a failure, leave nothing open on the mount (it would keep the unmount busy).
        await Promise.all([releaseHeld(kiseki), releaseHeld(ref)]);
      }
      const diffs = await treeDifferences(kisekiTree, localTree);
      if (diffs.length) throw fail(OPS_PER_SEED - 1, `trees differ at the end:\n  ${diffs.join('\n  ')}`);

      // What the server holds, read by a fresh session with nothing cached.
      reader = await sdk(server);
      try {
        const committed = await treeDifferences(sdkTree(reader, `/${base}`, 'fresh SDK session'), localTree);
        if (committed.length)
          throw fail(OPS_PER_SEED - 1, `the server's tree differs:\n  ${committed.join('\n  ')}`);
      } finally {
        await reader.close();
        reader = undefined;
      }
      console.log(
        `seed ${seed}: ${ops} ops matched: ${[...tally]
          .sort()
          .map(([k, n]) => `${k} ${n}`)
          .join(', ')}`,
      );
      expect(ops).toBe(OPS_PER_SEED);
    });
  }
});
