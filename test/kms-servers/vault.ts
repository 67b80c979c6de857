/**
 * A small Vault stand-in for tests: the parts of the Vault HTTP API the Vault provider uses,
 * implemented from Vault's documentation, over HTTPS. No Vault can be installed here; point the
 * Vault tests at a real one with KISEKI_TEST_VAULT_ADDR (+ _TOKEN, _CACERT) to replace this.
 *
 * Implemented: X-Vault-Token (or `Authorization: Bearer`) checks against tokens with policies
 * (path globs with capabilities, Vault's create-vs-update rule for existing resources) and TTLs;
 * POST auth/approle/login; GET sys/health (sealed → 503); transit keys POST/GET/config/DELETE
 * (deletion_allowed rule), encrypt/decrypt/datakey with derived aes256-gcm96 keys (HKDF-SHA-256
 * of the key version with the request context as info, as Vault's keysutil does; ciphertext
 * "vault:v1:" + base64(nonce‖ct‖tag)); errors as {"errors":[…]} with Vault's status codes.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TestPki } from './certs.ts';

type Capability = 'create' | 'read' | 'update' | 'delete';
type Policy = Array<{ path: string; capabilities: Capability[] }>;

interface Token {
  policies: string[];
  expiresAtMs: number;
}

interface TransitKey {
  derived: boolean;
  deletionAllowed: boolean;
  versions: Buffer[];
}

export const KISEKI_POLICY: Policy = [
  { path: 'transit/keys/kiseki-tenant-*', capabilities: ['create', 'read', 'update', 'delete'] },
  { path: 'transit/encrypt/kiseki-tenant-*', capabilities: ['update'] },
  { path: 'transit/decrypt/kiseki-tenant-*', capabilities: ['update'] },
  { path: 'transit/datakey/plaintext/kiseki-tenant-*', capabilities: ['update'] },
];

export interface VaultTestServer {
  readonly url: string;
  readonly caPem: string;
  readonly rootToken: string;
  /** A token with the kiseki policy only. */
  readonly kisekiToken: string;
  readonly roleId: string;
  readonly secretId: string;
  /** Every request: method, path, and whether it carried a valid token. */
  readonly requests: Array<{ method: string; path: string; token: 'none' | 'valid' | 'invalid' }>;
  faults: { sealed: boolean; hangMs: number };
  /** Revokes every token made by AppRole login. */
  revokeAppRoleTokens(): void;
  /** Revokes one token (what a tenant admin does to withdraw a cluster's access). */
  revokeToken(token: string): void;
  close(): Promise<void>;
}

function globMatch(glob: string, path: string): boolean {
  return glob.endsWith('*') ? path.startsWith(glob.slice(0, -1)) : glob === path;
}

export async function startVaultTestServer(
  pki: TestPki,
  opts: { appRoleTokenTtlS?: number } = {},
): Promise<VaultTestServer> {
  const policies: Record<string, Policy> = { kiseki: KISEKI_POLICY };
  const tokens = new Map<string, Token>();
  const appRoleTokens = new Set<string>();
  const keys = new Map<string, TransitKey>();
  const rootToken = `hvs.${randomBytes(18).toString('base64url')}`;
  const kisekiToken = `hvs.${randomBytes(18).toString('base64url')}`;
  tokens.set(rootToken, { policies: ['root'], expiresAtMs: Number.POSITIVE_INFINITY });
  tokens.set(kisekiToken, { policies: ['kiseki'], expiresAtMs: Number.POSITIVE_INFINITY });
  const roleId = randomUUID();
  const secretId = randomUUID();
  const requests: VaultTestServer['requests'] = [];
  const faults = { sealed: false, hangMs: 0 };

  const allowed = (tok: Token, path: string, cap: Capability) =>
    tok.policies.includes('root') ||
    tok.policies.some((p) =>
      (policies[p] ?? []).some((r) => globMatch(r.path, path) && r.capabilities.includes(cap)),
    );

  const derive = (k: TransitKey, version: number, context: Buffer | undefined): Buffer => {
    const base = k.versions[version - 1]!;
    if (!k.derived) return base;
    return Buffer.from(hkdfSync('sha256', base, Buffer.alloc(0), context!, 32));
  };

  const server: Server = createServer(
    { cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const reply = (status: number, body?: unknown) => {
          const send = () => {
            if (body === undefined) {
              res.writeHead(status).end();
            } else {
              const s = JSON.stringify(body);
              res
                .writeHead(status, {
                  'content-type': 'application/json',
                  'content-length': Buffer.byteLength(s),
                })
                .end(s);
            }
          };
          if (faults.hangMs > 0) setTimeout(send, faults.hangMs);
          else send();
        };
        const fail = (status: number, ...errors: string[]) => reply(status, { errors });
        const url = new URL(req.url ?? '/', 'https://x');
        if (!url.pathname.startsWith('/v1/')) return fail(404);
        const path = url.pathname.slice(4);
        let body: Record<string, unknown> = {};
        try {
          if (chunks.length) body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          return fail(400, 'failed to parse JSON input');
        }
        const header = req.headers['x-vault-token'] ?? req.headers.authorization?.replace(/^Bearer /, '');
        const tokenValue = typeof header === 'string' ? header : undefined;
        const tok = tokenValue ? tokens.get(tokenValue) : undefined;
        const valid = tok !== undefined && tok.expiresAtMs > Date.now();
        requests.push({
          method: req.method ?? '',
          path,
          token: tokenValue === undefined ? 'none' : valid ? 'valid' : 'invalid',
        });

        if (path === 'sys/health' && req.method === 'GET') {
          const h = {
            initialized: true,
            sealed: faults.sealed,
            standby: false,
            version: '1.15.6+kiseki-test',
          };
          return reply(faults.sealed ? 503 : 200, h);
        }
        if (faults.sealed) return fail(503, 'Vault is sealed');
        if (path === 'auth/approle/login' && req.method === 'POST') {
          if (body.role_id !== roleId || body.secret_id !== secretId)
            return fail(400, 'invalid role or secret ID');
          const t = `hvs.${randomBytes(18).toString('base64url')}`;
          const ttl = opts.appRoleTokenTtlS ?? 3600;
          tokens.set(t, { policies: ['kiseki'], expiresAtMs: Date.now() + ttl * 1000 });
          appRoleTokens.add(t);
          return reply(200, {
            auth: {
              client_token: t,
              accessor: randomUUID(),
              policies: ['default', 'kiseki'],
              token_policies: ['default', 'kiseki'],
              lease_duration: ttl,
              renewable: true,
            },
          });
        }
        if (!valid) return fail(403, 'permission denied');

        const m = /^transit\/(keys|encrypt|decrypt|datakey\/plaintext)\/([^/]+)(\/config)?$/.exec(path);
        if (!m) return fail(404, `no handler for route "${path}"`);
        const [, op, name, config] = m as unknown as [string, string, string, string | undefined];
        const key = keys.get(name);
        const need = (cap: Capability) => {
          if (!allowed(tok, path, cap)) {
            fail(403, 'permission denied');
            return false;
          }
          return true;
        };
        const context = typeof body.context === 'string' ? Buffer.from(body.context, 'base64') : undefined;
        const needContext = (k: TransitKey) => {
          if (k.derived && (!context || context.length === 0)) {
            fail(
              400,
              "missing 'context' for key derivation; the key was created using a derived key, which means additional, per-request information must be included in order to perform operations with the key",
            );
            return false;
          }
          return true;
        };

        if (op === 'keys' && config) {
          if (req.method !== 'POST') return fail(405);
          if (!need('update')) return;
          if (!key) return fail(404, `no existing key named ${name} could be found`);
          if (typeof body.deletion_allowed === 'boolean') key.deletionAllowed = body.deletion_allowed;
          return reply(204);
        }
        if (op === 'keys') {
          if (req.method === 'GET') {
            if (!need('read')) return;
            if (!key) return reply(404, { errors: [] });
            return reply(200, {
              data: {
                name,
                type: 'aes256-gcm96',
                derived: key.derived,
                kdf: 'hkdf_sha256',
                deletion_allowed: key.deletionAllowed,
                exportable: false,
                latest_version: key.versions.length,
                keys: Object.fromEntries(key.versions.map((_, i) => [String(i + 1), 0])),
              },
            });
          }
          if (req.method === 'POST') {
            if (!need(key ? 'update' : 'create')) return;
            if (body.type !== undefined && body.type !== 'aes256-gcm96')
              return fail(400, `unknown key type: ${String(body.type)}`);
            if (!key)
              keys.set(name, {
                derived: body.derived === true,
                deletionAllowed: false,
                versions: [randomBytes(32)],
              });
            return reply(204);
          }
          if (req.method === 'DELETE') {
            if (!need('delete')) return;
            if (!key) return reply(204);
            if (!key.deletionAllowed) return fail(400, 'deletion is not allowed for this key');
            keys.delete(name);
            return reply(204);
          }
          return fail(405);
        }
        if (req.method !== 'POST' && req.method !== 'PUT') return fail(405);
        if (op === 'encrypt') {
          // Vault's existence check: encrypting with a missing key is an upsert, which needs create.
          if (!need(key ? 'update' : 'create')) return;
          let k = key;
          if (!k) {
            k = { derived: context !== undefined, deletionAllowed: false, versions: [randomBytes(32)] };
            keys.set(name, k);
          }
          if (!needContext(k)) return;
          if (typeof body.plaintext !== 'string') return fail(400, 'missing plaintext to encrypt');
          const v = k.versions.length;
          const nonce = randomBytes(12);
          const c = createCipheriv('aes-256-gcm', derive(k, v, context), nonce);
          const ct = Buffer.concat([
            c.update(Buffer.from(body.plaintext, 'base64')),
            c.final(),
            c.getAuthTag(),
          ]);
          return reply(200, {
            data: {
              ciphertext: `vault:v${v}:${Buffer.concat([nonce, ct]).toString('base64')}`,
              key_version: v,
            },
          });
        }
        if (!need('update')) return;
        if (!key) return fail(400, 'encryption key not found');
        if (!needContext(key)) return;
        if (op === 'decrypt') {
          const cm = /^vault:v(\d+):([A-Za-z0-9+/=]+)$/.exec(String(body.ciphertext ?? ''));
          if (!cm) return fail(400, 'invalid ciphertext: no prefix');
          const v = Number(cm[1]);
          if (v < 1 || v > key.versions.length) return fail(400, 'invalid key version');
          const raw = Buffer.from(cm[2]!, 'base64');
          if (raw.length < 28) return fail(400, 'invalid ciphertext length');
          try {
            const d = createDecipheriv('aes-256-gcm', derive(key, v, context), raw.subarray(0, 12));
            d.setAuthTag(raw.subarray(raw.length - 16));
            const pt = Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]);
            return reply(200, { data: { plaintext: pt.toString('base64') } });
          } catch {
            return fail(400, 'cipher: message authentication failed');
          }
        }
        // datakey/plaintext
        const bits = body.bits === undefined ? 256 : Number(body.bits);
        if (![128, 256, 512].includes(bits)) return fail(400, 'invalid bits value');
        const dk = randomBytes(bits / 8);
        const v = key.versions.length;
        const nonce = randomBytes(12);
        const c = createCipheriv('aes-256-gcm', derive(key, v, context), nonce);
        const ct = Buffer.concat([c.update(dk), c.final(), c.getAuthTag()]);
        return reply(200, {
          data: {
            plaintext: dk.toString('base64'),
            ciphertext: `vault:v${v}:${Buffer.concat([nonce, ct]).toString('base64')}`,
            key_version: v,
          },
        });
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    caPem: pki.caPem,
    rootToken,
    kisekiToken,
    roleId,
    secretId,
    requests,
    faults,
    revokeToken: (t: string) => {
      tokens.delete(t);
    },
    revokeAppRoleTokens: () => {
      for (const t of appRoleTokens) tokens.delete(t);
      appRoleTokens.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
