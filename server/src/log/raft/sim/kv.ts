/**
 * The simulator's replicated state machine: a tiny key-value store whose commands are log
 * entries, and whose snapshot is its whole map.
 */

import { invariant } from '@kiseki/proto';
import type { Entry } from '../types.ts';

export interface KvCommand {
  /** Client and per-client operation number: identify the put in the history. */
  readonly client: number;
  readonly op: number;
  readonly key: string;
  readonly value: string;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeKvCommand(c: KvCommand): Uint8Array {
  return enc.encode(JSON.stringify([c.client, c.op, c.key, c.value]));
}

export function decodeKvCommand(data: Uint8Array): KvCommand {
  const v: unknown = JSON.parse(dec.decode(data));
  invariant(
    Array.isArray(v) &&
      v.length === 4 &&
      typeof v[0] === 'number' &&
      typeof v[1] === 'number' &&
      typeof v[2] === 'string' &&
      typeof v[3] === 'string',
    'malformed kv command in the log',
  );
  return { client: v[0], op: v[1], key: v[2], value: v[3] };
}

export class KvStateMachine {
  readonly #map = new Map<string, string>();

  /** Apply a committed entry (no-ops and conf changes leave the map alone). */
  apply(e: Entry): void {
    if (e.type !== 'normal' || e.data.byteLength === 0) return;
    const c = decodeKvCommand(e.data);
    this.#map.set(c.key, c.value);
  }

  get(key: string): string | null {
    return this.#map.get(key) ?? null;
  }

  /** Canonical encoding of the whole state: the snapshot payload, and a digest to compare nodes. */
  encode(): string {
    return JSON.stringify([...this.#map].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
  }

  snapshot(): Uint8Array {
    return enc.encode(this.encode());
  }

  static restore(data: Uint8Array): KvStateMachine {
    const sm = new KvStateMachine();
    if (data.byteLength === 0) return sm;
    const pairs: unknown = JSON.parse(dec.decode(data));
    invariant(Array.isArray(pairs), 'malformed kv snapshot');
    for (const p of pairs) {
      invariant(
        Array.isArray(p) && typeof p[0] === 'string' && typeof p[1] === 'string',
        'malformed kv snapshot pair',
      );
      sm.#map.set(p[0], p[1]);
    }
    return sm;
  }
}
