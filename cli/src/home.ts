/** Where a local node keeps what the CLI needs: endpoint, CA, admin token, credentials. */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { KisekiError } from '@kiseki/proto';

export function defaultHome(): string {
  return process.env.KISEKI_HOME ?? join(homedir(), '.kiseki');
}

export function defaultMount(): string {
  return join(homedir(), 'kiseki');
}

export interface Endpoint {
  readonly pid: number;
  readonly host: string;
  readonly grpcPort: number;
  readonly chunkPort: number;
}

export function readEndpoint(home: string): Endpoint {
  const p = join(resolve(home), 'server.json');
  if (!existsSync(p)) {
    throw new KisekiError(
      'KISEKI_E_UNAVAILABLE',
      `no kiseki-server is running for ${home} (start one with 'kiseki up')`,
    );
  }
  return JSON.parse(readFileSync(p, 'utf8')) as Endpoint;
}

export function serverAddress(home: string, override?: string): string {
  if (override) return override;
  const e = readEndpoint(home);
  return `${e.host}:${e.grpcPort}`;
}

export function adminToken(home: string): string {
  const p = join(resolve(home), 'admin.token');
  if (!existsSync(p))
    throw new KisekiError('KISEKI_E_AUTH', `no admin token at ${p}: run on the node, or pass --home`);
  return readFileSync(p, 'utf8').trim();
}

export function caPath(home: string): string {
  return join(resolve(home), 'tls', 'ca.crt');
}

export function credentialPath(home: string, tenant: string): string {
  return join(resolve(home), 'tenants', `${tenant}.credential`);
}
