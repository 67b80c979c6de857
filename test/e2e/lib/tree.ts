/**
 * Trees compared entry by entry: names, types, file sizes and bytes, symlink targets. Read
 * through POSIX calls (a local directory or a FUSE mount) or through the SDK (what the server
 * holds, with no kernel or mount cache in between).
 */
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Kiseki } from '@kiseki/client';

export type TreeNode =
  | { readonly kind: 'file'; readonly size: number }
  | { readonly kind: 'dir' }
  | { readonly kind: 'symlink'; readonly target: string }
  | { readonly kind: 'other' };

/** Relative path ('a/b/c', no leading slash) → entry, for every entry under a root. */
export type TreeListing = Map<string, TreeNode>;

export interface TreeReader {
  readonly label: string;
  list(): Promise<TreeListing>;
  /** The whole content of the file at a relative path. */
  read(rel: string): Promise<Buffer>;
}

/** Bound on entries walked, so a runaway tree fails instead of hanging. */
export const TREE_ENTRIES_MAX = 100_000;

export function posixTree(root: string, label: string): TreeReader {
  return {
    label,
    async list() {
      const out: TreeListing = new Map();
      const walk = async (rel: string) => {
        const names = (await readdir(rel ? join(root, rel) : root)).sort();
        for (const name of names) {
          if (out.size >= TREE_ENTRIES_MAX)
            throw new Error(`${label}: more than ${TREE_ENTRIES_MAX} entries`);
          const r = rel ? `${rel}/${name}` : name;
          const st = await lstat(join(root, r));
          if (st.isDirectory()) {
            out.set(r, { kind: 'dir' });
            await walk(r);
          } else if (st.isFile()) out.set(r, { kind: 'file', size: st.size });
          else if (st.isSymbolicLink())
            out.set(r, { kind: 'symlink', target: await readlink(join(root, r)) });
          else out.set(r, { kind: 'other' });
        }
      };
      await walk('');
      return out;
    },
    read: (rel) => readFile(join(root, rel)),
  };
}

/** The tree under `base` (an absolute namespace path) as a fresh SDK session sees it. */
export function sdkTree(k: Kiseki, base: string, label: string): TreeReader {
  const abs = (rel: string) => (rel ? `${base}/${rel}` : base);
  return {
    label,
    async list() {
      const out: TreeListing = new Map();
      const walk = async (rel: string) => {
        const entries = (await k.fs.readdir(abs(rel))).sort((a, b) => (a.name < b.name ? -1 : 1));
        for (const e of entries) {
          if (out.size >= TREE_ENTRIES_MAX)
            throw new Error(`${label}: more than ${TREE_ENTRIES_MAX} entries`);
          const r = rel ? `${rel}/${e.name}` : e.name;
          if (e.stat.kind === 'dir') {
            out.set(r, { kind: 'dir' });
            await walk(r);
          } else if (e.stat.kind === 'file') out.set(r, { kind: 'file', size: e.stat.size });
          else out.set(r, { kind: 'symlink', target: await k.fs.readlink(abs(r)) });
        }
      };
      await walk('');
      return out;
    },
    read: (rel) => k.fs.readFile(abs(rel)),
  };
}

function describeNode(n: TreeNode | undefined): string {
  if (!n) return 'missing';
  if (n.kind === 'file') return `file of ${n.size} bytes`;
  if (n.kind === 'symlink') return `symlink -> ${n.target}`;
  return n.kind;
}

/**
 * Every difference between two trees (at most `max`); an empty list means they are equal.
 * Contents are compared byte for byte; the first differing offset is reported.
 */
export async function treeDifferences(a: TreeReader, b: TreeReader, max = 20): Promise<string[]> {
  const [la, lb] = await Promise.all([a.list(), b.list()]);
  const diffs: string[] = [];
  const names = [...new Set([...la.keys(), ...lb.keys()])].sort();
  for (const name of names) {
    if (diffs.length >= max) break;
    const na = la.get(name);
    const nb = lb.get(name);
    if (describeNode(na) !== describeNode(nb)) {
      diffs.push(`${name}: ${a.label} has ${describeNode(na)}, ${b.label} has ${describeNode(nb)}`);
      continue;
    }
    if (na?.kind !== 'file') continue;
    const [ca, cb] = await Promise.all([a.read(name), b.read(name)]);
    if (ca.equals(cb)) continue;
    let at = 0;
    while (at < ca.length && at < cb.length && ca[at] === cb[at]) at++;
    diffs.push(
      `${name}: contents differ from byte ${at} (block ${Math.floor(at / 2 ** 20)}; ${a.label} read ${ca.length} bytes, ${b.label} ${cb.length})`,
    );
  }
  return diffs;
}
