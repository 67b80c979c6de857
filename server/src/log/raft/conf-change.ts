/**
 * Membership changes, one node at a time, and the byte format of a `conf-change` entry.
 *
 * A change adds a learner, promotes a learner to voter, or removes a node. Each changes the voter
 * set by at most one, so any majority of the old voters overlaps any majority of the new ones
 * (the Raft thesis §4.1 single-server argument), which is what lets a node switch configuration
 * as soon as the entry is in its log, without joint consensus.
 *
 * Entry format v1 (big-endian), carrying the whole resulting configuration so that a node that
 * only ever saw a suffix of the log still knows every member:
 *
 *   u8 version (1) | u8 kind (1 add-learner, 2 promote, 3 remove) | u32 node
 *   | u16 voter count | u32 voter… | u16 learner count | u32 learner…
 */

import { invariant } from '@kiseki/proto';
import type { ConfState, NodeId } from './types.ts';

export type ConfChangeKind = 'add-learner' | 'promote' | 'remove';

export interface ConfChange {
  readonly kind: ConfChangeKind;
  readonly node: NodeId;
}

/** What a `conf-change` entry holds: the change and the configuration it produces. */
export interface ConfChangeEntry {
  readonly change: ConfChange;
  readonly conf: ConfState;
}

export const CONF_CHANGE_VERSION = 1;
/** Members per configuration the format can carry (u16 counts); far above any sane cluster. */
export const CONF_MEMBERS_MAX = 0xffff;
const NODE_ID_MAX = 0xffff_ffff;

const KIND_CODE: Record<ConfChangeKind, number> = { 'add-learner': 1, promote: 2, remove: 3 };
const CODE_KIND: Record<number, ConfChangeKind> = { 1: 'add-learner', 2: 'promote', 3: 'remove' };

/** Voters and learners sorted ascending: the canonical form every ConfState is kept in. */
export function canonicalConf(voters: Iterable<NodeId>, learners: Iterable<NodeId>): ConfState {
  const v = [...new Set(voters)].sort((a, b) => a - b);
  const l = [...new Set(learners)].sort((a, b) => a - b);
  for (const id of l) invariant(!v.includes(id), `node ${id} is both voter and learner`);
  return Object.freeze({ voters: Object.freeze(v), learners: Object.freeze(l) });
}

export function confEqual(a: ConfState, b: ConfState): boolean {
  return (
    a.voters.length === b.voters.length &&
    a.learners.length === b.learners.length &&
    a.voters.every((v, i) => b.voters[i] === v) &&
    a.learners.every((v, i) => b.learners[i] === v)
  );
}

export function isMember(conf: ConfState, id: NodeId): boolean {
  return conf.voters.includes(id) || conf.learners.includes(id);
}

/** Votes (or acks) needed among `voters` voters: a strict majority. */
export function quorumSize(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/**
 * The configuration `change` produces from `conf`, or undefined when the change does not apply
 * (adding a member, promoting a non-learner, removing a non-member).
 */
export function applyConfChange(conf: ConfState, change: ConfChange): ConfState | undefined {
  const { node } = change;
  switch (change.kind) {
    case 'add-learner':
      if (isMember(conf, node)) return undefined;
      return canonicalConf(conf.voters, [...conf.learners, node]);
    case 'promote':
      if (!conf.learners.includes(node)) return undefined;
      return canonicalConf(
        [...conf.voters, node],
        conf.learners.filter((id) => id !== node),
      );
    case 'remove':
      if (!isMember(conf, node)) return undefined;
      return canonicalConf(
        conf.voters.filter((id) => id !== node),
        conf.learners.filter((id) => id !== node),
      );
  }
}

function checkNodeId(id: number): void {
  invariant(
    Number.isSafeInteger(id) && id >= 1 && id <= NODE_ID_MAX,
    `conf-change node id ${id} out of range`,
  );
}

export function encodeConfChange(e: ConfChangeEntry): Uint8Array {
  const { change, conf } = e;
  checkNodeId(change.node);
  invariant(conf.voters.length <= CONF_MEMBERS_MAX, 'too many voters to encode');
  invariant(conf.learners.length <= CONF_MEMBERS_MAX, 'too many learners to encode');
  const bytes = new Uint8Array(2 + 4 + 2 + 4 * conf.voters.length + 2 + 4 * conf.learners.length);
  const dv = new DataView(bytes.buffer);
  let at = 0;
  dv.setUint8(at++, CONF_CHANGE_VERSION);
  dv.setUint8(at++, KIND_CODE[change.kind]);
  dv.setUint32(at, change.node);
  at += 4;
  for (const list of [conf.voters, conf.learners]) {
    dv.setUint16(at, list.length);
    at += 2;
    for (const id of list) {
      checkNodeId(id);
      dv.setUint32(at, id);
      at += 4;
    }
  }
  invariant(at === bytes.length, 'conf-change encoder length mismatch');
  return bytes;
}

/**
 * Decode and check a `conf-change` entry read back from the log. A malformed one is corruption
 * of our own log, so it throws (assertion) rather than returning an error.
 */
export function decodeConfChange(bytes: Uint8Array): ConfChangeEntry {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  invariant(bytes.byteLength >= 8, `conf-change entry of ${bytes.byteLength} bytes is too short`);
  const version = dv.getUint8(0);
  invariant(version === CONF_CHANGE_VERSION, `conf-change entry version ${version}, expected 1`);
  const kind = CODE_KIND[dv.getUint8(1)];
  invariant(kind !== undefined, `conf-change entry kind ${dv.getUint8(1)} is unknown`);
  const node = dv.getUint32(2) as NodeId;
  checkNodeId(node);
  let at = 6;
  const lists: NodeId[][] = [];
  for (let k = 0; k < 2; k++) {
    invariant(at + 2 <= bytes.byteLength, 'conf-change entry truncated');
    const n = dv.getUint16(at);
    at += 2;
    invariant(at + 4 * n <= bytes.byteLength, 'conf-change entry truncated');
    const list: NodeId[] = [];
    for (let i = 0; i < n; i++) {
      const id = dv.getUint32(at) as NodeId;
      checkNodeId(id);
      list.push(id);
      at += 4;
    }
    lists.push(list);
  }
  invariant(at === bytes.byteLength, `conf-change entry has ${bytes.byteLength - at} trailing bytes`);
  const voters = lists[0]!;
  const learners = lists[1]!;
  const conf = canonicalConf(voters, learners);
  invariant(
    conf.voters.length === voters.length && conf.learners.length === learners.length,
    'conf-change entry lists a node twice',
  );
  const change = Object.freeze({ kind, node });
  switch (kind) {
    case 'add-learner':
      invariant(conf.learners.includes(node), `conf-change add-learner ${node} missing from learners`);
      break;
    case 'promote':
      invariant(conf.voters.includes(node), `conf-change promote ${node} missing from voters`);
      break;
    case 'remove':
      invariant(!isMember(conf, node), `conf-change remove ${node} still a member`);
      break;
  }
  return Object.freeze({ change, conf });
}
