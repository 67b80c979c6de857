/**
 * Durability policies of affinity pools (I-C4): Reed-Solomon EC k+m (the default) or N full
 * copies. A pool's policy history is append-only (I-C6): `setDurability` adds an epoch that new
 * chunks use; chunks already written keep the policy of the epoch they were written in, so
 * their EC parameters never change under them. Pure: no I/O.
 */
import { type Brand, invariant, KisekiError } from '@kiseki/proto';
import { ecPolicyProblem } from '../ec/index.ts';

export type PoolId = Brand<string, 'PoolId'>;

export type DurabilityPolicy =
  | { readonly kind: 'ec'; readonly k: number; readonly m: number }
  | { readonly kind: 'replicas'; readonly copies: number };

export const REPLICAS_MAX = 8;
/** EC 4+2: survives any two lost devices at 1.5x raw space. */
export const DEFAULT_POLICY: DurabilityPolicy = { kind: 'ec', k: 4, m: 2 };

/** Why `p` is not a usable policy, or undefined. */
export function policyProblem(p: DurabilityPolicy): string | undefined {
  if (p.kind === 'ec') return ecPolicyProblem(p.k, p.m);
  if (!Number.isSafeInteger(p.copies) || p.copies < 1 || p.copies > REPLICAS_MAX)
    return `copies = ${p.copies} is not in [1, ${REPLICAS_MAX}]`;
  return undefined;
}

/** Pieces a chunk is stored as: k+m fragments, or N copies. Each goes to a different device. */
export function piecesOf(p: DurabilityPolicy): number {
  return p.kind === 'ec' ? p.k + p.m : p.copies;
}

/** Pieces that may be lost with the chunk still readable. */
export function toleratedLosses(p: DurabilityPolicy): number {
  return p.kind === 'ec' ? p.m : p.copies - 1;
}

/** Raw bytes stored per byte of chunk. */
export function spaceFactor(p: DurabilityPolicy): number {
  return p.kind === 'ec' ? (p.k + p.m) / p.k : p.copies;
}

/** 'ec:4+2' or 'replicas:3': the CLI and config spelling. */
export function formatPolicy(p: DurabilityPolicy): string {
  return p.kind === 'ec' ? `ec:${p.k}+${p.m}` : `replicas:${p.copies}`;
}

/** Parses `formatPolicy`'s spelling; anything else → KISEKI_E_INVAL saying what is accepted. */
export function parsePolicy(s: string): DurabilityPolicy {
  const ec = /^ec:(\d{1,2})\+(\d{1,2})$/.exec(s);
  const rep = /^replicas:(\d{1,2})$/.exec(s);
  const p: DurabilityPolicy | undefined = ec
    ? { kind: 'ec', k: Number(ec[1]), m: Number(ec[2]) }
    : rep
      ? { kind: 'replicas', copies: Number(rep[1]) }
      : undefined;
  const problem = p === undefined ? 'not of the form ec:K+M or replicas:N' : policyProblem(p);
  if (p === undefined || problem !== undefined) {
    throw new KisekiError(
      'KISEKI_E_INVAL',
      `durability policy '${s}': ${problem}; e.g. ec:4+2 or replicas:3`,
    );
  }
  return p;
}

export type DeviceClass = 'ssd' | 'hdd';

export interface PolicyEpoch {
  /** 1, 2, …: stored with every chunk written under it. */
  readonly epoch: number;
  readonly policy: DurabilityPolicy;
}

export interface PoolDefinition {
  readonly id: PoolId;
  readonly deviceClass: DeviceClass;
  /** Oldest first; never rewritten (I-C6). */
  readonly policies: readonly PolicyEpoch[];
}

export function createPool(
  id: string,
  deviceClass: DeviceClass,
  policy: DurabilityPolicy = DEFAULT_POLICY,
): PoolDefinition {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(id)) {
    throw new KisekiError('KISEKI_E_INVAL', `pool name '${id}': use 1-63 of a-z, 0-9, '-'`);
  }
  const problem = policyProblem(policy);
  if (problem !== undefined) throw new KisekiError('KISEKI_E_INVAL', `pool ${id}: ${problem}`);
  return { id: id as PoolId, deviceClass, policies: [{ epoch: 1, policy }] };
}

/** The policy new chunks are written with. */
export function currentPolicy(pool: PoolDefinition): PolicyEpoch {
  const last = pool.policies.at(-1);
  invariant(last !== undefined, 'a pool has a policy');
  return last;
}

/** The policy a chunk written in `epoch` keeps for life (I-C6). Unknown epoch → KISEKI_E_CORRUPT. */
export function policyAt(pool: PoolDefinition, epoch: number): DurabilityPolicy {
  const e = pool.policies.find((p) => p.epoch === epoch);
  if (e === undefined) {
    throw new KisekiError(
      'KISEKI_E_CORRUPT',
      `pool ${pool.id} has no durability epoch ${epoch}; the chunk record is damaged`,
    );
  }
  return e.policy;
}

/** I-C6: a new policy for NEW chunks only, as a new epoch; the pool value is not mutated. */
export function setDurability(pool: PoolDefinition, policy: DurabilityPolicy): PoolDefinition {
  const problem = policyProblem(policy);
  if (problem !== undefined) throw new KisekiError('KISEKI_E_INVAL', `pool ${pool.id}: ${problem}`);
  const epoch = currentPolicy(pool).epoch + 1;
  return { ...pool, policies: [...pool.policies, { epoch, policy }] };
}
