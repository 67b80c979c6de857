/**
 * A linearizability checker for histories of a key-value store, in the manner of porcupine
 * (Wing & Gong's search with Lowe's memoization of (linearized set, state), and P-compositionality:
 * each key is checked on its own).
 *
 * Model: every key is a register, initially absent (null). `put(v)` sets it; `get` returns it.
 * An operation whose outcome the client never learned (a put whose node crashed or timed out)
 * has `ret` = Infinity: it may take effect at any point after its call, or never (which is the
 * same as taking effect after everything else). Reads that failed are simply left out.
 */

import { invariant } from '@kiseki/proto';

export interface KvOperation {
  readonly client: number;
  readonly key: string;
  readonly kind: 'put' | 'get';
  /** put: the value written (unique per put); get: the value observed (null when absent). */
  readonly value: string | null;
  /** Invocation time. */
  readonly call: number;
  /** Completion time (> call), or Infinity when the outcome is unknown. */
  readonly ret: number;
}

export type LinearizabilityResult =
  | { readonly outcome: 'ok' }
  | { readonly outcome: 'illegal'; readonly key: string; readonly ops: readonly KvOperation[] }
  /** The search passed `search_steps_max` for `key`: the history is too large to decide. */
  | { readonly outcome: 'unknown'; readonly key: string };

interface ListNode {
  readonly op: number;
  /** Set on call entries: the matching return entry. */
  readonly match: ListNode | undefined;
  prev: ListNode | undefined;
  next: ListNode | undefined;
}

/** Check a whole history, key by key. Default search_steps_max: 5,000,000 per key. */
export function checkKvHistory(
  history: readonly KvOperation[],
  opts: { search_steps_max?: number } = {},
): LinearizabilityResult {
  const stepsMax = opts.search_steps_max ?? 5_000_000;
  const byKey = new Map<string, KvOperation[]>();
  for (const op of history) {
    invariant(op.ret > op.call, `operation returns (${op.ret}) before its call (${op.call})`);
    let list = byKey.get(op.key);
    if (list === undefined) {
      list = [];
      byKey.set(op.key, list);
    }
    list.push(op);
  }
  for (const [key, ops] of [...byKey].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const r = checkRegister(ops, stepsMax);
    if (r === 'illegal') return { outcome: 'illegal', key, ops };
    if (r === 'unknown') return { outcome: 'unknown', key };
  }
  return { outcome: 'ok' };
}

/** One register's history: 'ok', 'illegal' or 'unknown' (search budget exhausted). */
export function checkRegister(all: readonly KvOperation[], stepsMax: number): 'ok' | 'illegal' | 'unknown' {
  // A read of a value nobody wrote can never be explained.
  const written = new Set(all.filter((o) => o.kind === 'put').map((o) => o.value));
  for (const o of all) if (o.kind === 'get' && o.value !== null && !written.has(o.value)) return 'illegal';
  // A put of unknown outcome that no read observed can always be placed last, where it changes
  // nothing: leaving it out decides the same question with a far smaller search.
  const read = new Set(all.filter((o) => o.kind === 'get').map((o) => o.value));
  const ops = all.filter(
    (o) => !(o.kind === 'put' && o.ret === Number.POSITIVE_INFINITY && !read.has(o.value)),
  );

  // Events sorted by time; at equal times calls come first (the operations overlap).
  const events: { time: number; isCall: boolean; op: number }[] = [];
  ops.forEach((o, i) => {
    events.push({ time: o.call, isCall: true, op: i });
    events.push({ time: o.ret, isCall: false, op: i });
  });
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.op - b.op : a.isCall ? -1 : 1));

  const head: ListNode = { op: -1, match: undefined, prev: undefined, next: undefined };
  const returns = new Map<number, ListNode>();
  let tail = head;
  // Build back to front so that each call can point at its (later) return.
  const nodes: ListNode[] = new Array(events.length);
  for (let k = events.length - 1; k >= 0; k--) {
    const ev = events[k]!;
    const match = ev.isCall ? returns.get(ev.op) : undefined;
    const node: ListNode = { op: ev.op, match, prev: undefined, next: undefined };
    if (!ev.isCall) returns.set(ev.op, node);
    nodes[k] = node;
  }
  for (const node of nodes) {
    node.prev = tail;
    tail.next = node;
    tail = node;
  }

  const lift = (e: ListNode): void => {
    e.prev!.next = e.next;
    e.next!.prev = e.prev;
    const m = e.match!;
    m.prev!.next = m.next;
    if (m.next !== undefined) m.next.prev = m.prev;
  };
  const unlift = (e: ListNode): void => {
    const m = e.match!;
    m.prev!.next = m;
    if (m.next !== undefined) m.next.prev = m;
    e.prev!.next = e;
    e.next!.prev = e;
  };

  let state: string | null = null;
  let linearized = 0n;
  const cache = new Set<string>();
  const stack: { entry: ListNode; state: string | null }[] = [];
  let entry = head.next;
  let steps = 0;
  while (head.next !== undefined) {
    if (++steps > stepsMax) return 'unknown';
    invariant(entry !== undefined, 'linearizability search ran off the list');
    if (entry.match !== undefined) {
      const o = ops[entry.op]!;
      let ok: boolean;
      let next: string | null;
      if (o.kind === 'put') {
        ok = true;
        next = o.value;
      } else {
        ok = o.value === state;
        next = state;
      }
      if (ok) {
        const lin = linearized | (1n << BigInt(entry.op));
        const key = `${lin.toString(36)}|${next === null ? '\u0000' : next}`;
        if (!cache.has(key)) {
          cache.add(key);
          stack.push({ entry, state });
          state = next;
          linearized = lin;
          lift(entry);
          entry = head.next;
          continue;
        }
      }
      entry = entry.next;
    } else {
      // A return whose call could not be placed: backtrack.
      const top = stack.pop();
      if (top === undefined) return 'illegal';
      entry = top.entry;
      state = top.state;
      linearized &= ~(1n << BigInt(entry.op));
      unlift(entry);
      entry = entry.next;
    }
  }
  return 'ok';
}

/** A readable listing of a register's history, for failure messages. */
export function formatHistory(ops: readonly KvOperation[], max = 60): string {
  const sorted = [...ops].sort((a, b) => a.call - b.call);
  const lines = sorted.slice(0, max).map((o) => {
    const ret = o.ret === Number.POSITIVE_INFINITY ? '∞' : String(o.ret);
    const what = o.kind === 'put' ? `put(${o.value})` : `get() → ${o.value}`;
    return `  client ${o.client} [${o.call}, ${ret}] ${o.key} ${what}`;
  });
  if (sorted.length > max) lines.push(`  … ${sorted.length - max} more`);
  return lines.join('\n');
}
