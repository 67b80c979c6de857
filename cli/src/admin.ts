/** Admin calls to the control plane, authenticated with the node's admin token. */
import { readFileSync } from 'node:fs';
import { Rpc } from '@kiseki/client';
import type {
  CreateTenantResponse__Output,
  ListTenantsResponse__Output,
  StatusResponse__Output,
} from '@kiseki/proto';
import { adminToken, caPath, serverAddress } from './home.ts';

export class Admin {
  readonly #rpc: Rpc;
  readonly #token: string;

  constructor(home: string, server?: string) {
    this.#rpc = new Rpc({ server: serverAddress(home, server), caCert: readFileSync(caPath(home)) });
    this.#token = adminToken(home);
  }

  #call<Res>(method: string, req: object): Promise<Res> {
    return this.#rpc.call<object, Res>(this.#rpc.clients.control, method, req, { token: this.#token });
  }

  status(): Promise<StatusResponse__Output> {
    return this.#call('Status', {});
  }

  createTenant(name: string, dedup: 'tenant' | 'global'): Promise<CreateTenantResponse__Output> {
    return this.#call('CreateTenant', {
      name,
      dedup: dedup === 'global' ? 'DEDUP_POLICY_GLOBAL' : 'DEDUP_POLICY_TENANT',
    });
  }

  listTenants(): Promise<ListTenantsResponse__Output> {
    return this.#call('ListTenants', {});
  }

  close(): void {
    this.#rpc.close();
  }
}
