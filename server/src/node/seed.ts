/**
 * `--seed-home`: give a new node on this machine the cluster's identity by copying it from an
 * existing node's home: the CA and node certificate, the admin token (also the token nodes
 * present to each other), the tenant registry, and the tenants' wrapped keys with the internal
 * KMS. Until the control plane has its own Raft group (issue 3, shard map) this is how nodes of
 * one cluster agree on tenants and keys. Never overwrites: a home that already has an admin
 * token is left alone.
 */
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KisekiError } from '@kiseki/proto';

const COPIED = ['admin.token', 'tls', 'control', 'keys', 'kms', 'tenants'];

export function seedHome(from: string, home: string): void {
  const src = resolve(from);
  const dst = resolve(home);
  if (existsSync(join(dst, 'admin.token'))) return;
  if (!existsSync(join(src, 'admin.token'))) {
    throw new KisekiError('KISEKI_E_NOENT', `--seed-home ${src} is not a kiseki node home (no admin.token)`);
  }
  mkdirSync(dst, { recursive: true, mode: 0o700 });
  for (const name of COPIED) {
    const p = join(src, name);
    if (!existsSync(p)) continue;
    // lmdb lock files belong to the running process of the source node.
    cpSync(p, join(dst, name), {
      recursive: true,
      filter: (f) => !f.endsWith('lock.mdb') && !f.endsWith('.lock'),
    });
  }
}
