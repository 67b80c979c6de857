/**
 * Starts one kiseki-server node with every role: gRPC services on a TLS port, the chunk data
 * transport on the next port, the view, the chunk store, the key manager and the control plane.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { GRPC_MESSAGE_BYTES_MAX, KisekiError, type TenantId } from '@kiseki/proto';
import type { Logger } from 'pino';
import { ChunkStore, createChunkHttpHandler } from '../chunk/index.ts';
import { TenantRegistry } from '../control/index.ts';
import { InternalKms, KeyManager, writeFileDurable } from '../keys/index.ts';
import { openSingleReplicaLog } from '../log/index.ts';
import { ViewStore } from '../view/index.ts';
import { SessionAuthority } from './auth.ts';
import type { NodeConfig } from './config.ts';
import { runGc } from './gc.ts';
import { parseClientEnvelope } from './grpc-util.ts';
import { lockHome } from './lock.ts';
import { Pins } from './pins.ts';
import { addServices } from './services.ts';
import { NodeState } from './state.ts';
import { ensureTls } from './tls.ts';

export const VERSION = '0.1.0';
export const DEFAULT_TENANT = 'default';

export interface KisekiNode {
  readonly grpcPort: number;
  readonly chunkPort: number;
  readonly caPath: string;
  readonly state: NodeState;
  close(): Promise<void>;
}

async function readOrCreateSecret(path: string): Promise<string> {
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const s = randomBytes(32).toString('base64url');
  await writeFileDurable(path, Buffer.from(`${s}\n`));
  return s;
}

export async function startNode(cfg: NodeConfig, log: Logger): Promise<KisekiNode> {
  const startedAtMs = Date.now();
  mkdirSync(cfg.home, { recursive: true, mode: 0o700 });
  const unlock = lockHome(cfg.home);
  const closers: Array<() => Promise<void> | void> = [unlock];
  const closeAll = async () => {
    for (const c of closers.reverse()) await c();
  };
  try {
    const adminToken = await readOrCreateSecret(join(cfg.home, 'admin.token'));
    const nodeId = await readOrCreateSecret(join(cfg.home, 'node.id'));
    const tls = ensureTls(cfg.home);

    const kms = new InternalKms(join(cfg.home, 'kms'));
    const keys = await KeyManager.open({
      dir: join(cfg.home, 'keys'),
      provider: () => kms,
      cacheTtlMs: cfg.keyCacheTtlMs,
    });
    closers.push(() => keys.close());

    const tenants = TenantRegistry.open(join(cfg.home, 'control'));
    closers.push(() => tenants.close());

    mkdirSync(join(cfg.home, 'devices'), { recursive: true, mode: 0o700 });
    const devicePath = join(cfg.home, 'devices', 'dev0.img');
    // The configured size applies when the device is made; afterwards the device says.
    const deviceSizeBytes = existsSync(devicePath) ? statSync(devicePath).size : cfg.deviceSizeBytes;
    if (deviceSizeBytes !== cfg.deviceSizeBytes) {
      log.info({ deviceSizeBytes, configured: cfg.deviceSizeBytes }, 'using the existing device size');
    }
    const chunks = await ChunkStore.open({
      dir: join(cfg.home, 'chunks'),
      devicePath,
      deviceSizeBytes,
      criticalRatio: cfg.criticalRatio,
    });
    closers.push(() => chunks.close());

    const view = ViewStore.open({ dir: join(cfg.home, 'view'), blockSize: cfg.blockSizeBytes });
    closers.push(() => view.close());

    const state = new NodeState(
      nodeId.slice(0, 12),
      cfg.home,
      view,
      chunks,
      (shard, dir) => openSingleReplicaLog(shard, dir, log, { repair: cfg.repairWal }),
      log,
    );
    closers.push(() => state.close());

    if (tenants.list().length === 0) {
      const { credential } = await tenants.create(DEFAULT_TENANT);
      await keys.createTenant(DEFAULT_TENANT);
      mkdirSync(join(cfg.home, 'tenants'), { recursive: true, mode: 0o700 });
      await writeFileDurable(
        join(cfg.home, 'tenants', `${DEFAULT_TENANT}.credential`),
        Buffer.from(`${credential}\n`),
      );
      log.info({ tenant: DEFAULT_TENANT }, 'created the default tenant');
    }
    for (const rec of tenants.list()) {
      await keys.createTenant(rec.name);
      await state.addTenant(rec);
    }

    const sessions = new SessionAuthority();
    const pins = new Pins(() => view.snapshot());
    closers.push(() => pins.close());

    // Chunk data transport: plain HTTP carrying only sealed envelopes (I-K2), token-authenticated.
    const handler = createChunkHttpHandler(chunks, {
      authenticate: (h) => sessions.verify(h).tenant as TenantId,
      envelopeCheck: (chunkId, body) => {
        const h = parseClientEnvelope(body);
        if (Buffer.from(h.chunkId).toString('hex') !== chunkId) {
          throw new KisekiError('KISEKI_E_INVAL', 'envelope is for another chunk id');
        }
      },
    });
    const http: HttpServer = createServer({ keepAliveTimeout: 60_000 }, handler);
    await new Promise<void>((resolve, reject) => {
      http.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'EADDRINUSE'
            ? new KisekiError('KISEKI_E_BUSY', `chunk port ${cfg.chunkPort} is in use`)
            : err,
        ),
      );
      http.listen(cfg.chunkPort, cfg.host, () => resolve());
    });
    closers.push(() => new Promise<void>((r) => http.close(() => r())));
    http.closeIdleConnections?.();
    const chunkPort = (http.address() as AddressInfo).port;

    const server = new grpc.Server({
      'grpc.max_receive_message_length': GRPC_MESSAGE_BYTES_MAX,
      'grpc.max_send_message_length': GRPC_MESSAGE_BYTES_MAX,
    });
    addServices(server, {
      lockLeaseMs: cfg.lockLeaseMs,
      lockMarkerPath: join(cfg.home, 'locks.held'),
      log,
      state,
      sessions,
      tenants,
      keys,
      pins,
      adminToken,
      chunkUrl: `http://${cfg.host}:${chunkPort}`,
      blockSizeBytes: cfg.blockSizeBytes,
      startedAtMs,
      version: VERSION,
    });
    const creds = grpc.ServerCredentials.createSsl(
      null,
      [{ private_key: tls.key, cert_chain: tls.cert }],
      false,
    );
    const grpcPort = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${cfg.host}:${cfg.port}`, creds, (err, port) =>
        err
          ? reject(
              new KisekiError('KISEKI_E_BUSY', `cannot listen on ${cfg.host}:${cfg.port}: ${err.message}`),
            )
          : resolve(port),
      ),
    );
    closers.push(
      () =>
        new Promise<void>((r) => {
          const t = setTimeout(() => {
            server.forceShutdown();
            r();
          }, 2000);
          server.tryShutdown(() => {
            clearTimeout(t);
            r();
          });
        }),
    );

    const gcTimer = setInterval(
      () => {
        runGc(state, cfg.gcGraceMs, log, Date.now(), pins).catch((err) =>
          log.error({ err }, 'chunk GC failed'),
        );
      },
      Math.max(1000, Math.min(cfg.gcGraceMs, 60_000)),
    );
    gcTimer.unref();
    closers.push(() => clearInterval(gcTimer));

    return { grpcPort, chunkPort, caPath: tls.caPath, state, close: closeAll };
  } catch (err) {
    await closeAll().catch(() => {});
    throw err;
  }
}
