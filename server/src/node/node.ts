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
import { GRPC_MESSAGE_BYTES_MAX, KisekiError, type TenantId, shardId as toShardId } from '@kiseki/proto';
import type { Logger } from 'pino';
import { ChunkStore, createChunkHttpHandler } from '../chunk/index.ts';
import { DeviceRegistry } from '../chunk/pool/index.ts';
import { TenantRegistry } from '../control/index.ts';
import { KeyManager, KmsRegistry, writeFileDurable } from '../keys/index.ts';
import { openSingleReplicaLog, RaftHost } from '../log/index.ts';
import { ViewStore } from '../view/index.ts';
import { checkAdminToken, SessionAuthority } from './auth.ts';
import type { NodeConfig } from './config.ts';
import { parsePeers } from './config.ts';
import { addDeviceService } from './device-service.ts';
import { runGc } from './gc.ts';
import { authorization, parseClientEnvelope } from './grpc-util.ts';
import { lockHome } from './lock.ts';
import { Pins } from './pins.ts';
import { addServices } from './services.ts';
import { NodeState } from './state.ts';
import { ensureTls } from './tls.ts';

export const VERSION = '0.1.0';
export const DEFAULT_TENANT = 'default';
/** The raw Raft group on every node (probes, benchmarks). */
export const RAFT_PROBE_GROUP = '_probe';

export interface KisekiNode {
  readonly grpcPort: number;
  readonly chunkPort: number;
  readonly caPath: string;
  readonly state: NodeState;
  /** The node's Raft groups; undefined for a single-replica node (no --peers, no --join). */
  readonly raft: RaftHost | undefined;
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

    // Each tenant's KMS provider: internal unless `kiseki kms configure` chose another.
    const kms = new KmsRegistry({ dir: join(cfg.home, 'keys'), internalDir: join(cfg.home, 'kms'), log });
    closers.push(() => kms.close());
    const keys = await KeyManager.open({
      dir: join(cfg.home, 'keys'),
      provider: (tenant) => kms.providerFor(tenant),
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
    // Raw devices added with `kiseki device add` (not yet used for chunk data: ADR 0010).
    const devices = await DeviceRegistry.open(join(cfg.home, 'devices'), { inUse: [devicePath] });
    closers.push(() => devices.close());

    // Raft runs when the node is configured as a cluster member. A node started without peers
    // keeps the single-replica log (ADR 0009: same WAL, one fdatasync per commit, and its fault
    // handling unchanged); restarting it with --peers turns each shard's existing log into the
    // applied log of a Raft group.
    const peers = parsePeers(cfg.peers);
    const clustered = peers.size > 0 || cfg.join;
    const raft = !clustered
      ? undefined
      : await RaftHost.open({
          dir: join(cfg.home, 'raft'),
          self: cfg.nodeId as never,
          selfAddress: peers.get(cfg.nodeId) ?? `${cfg.host}:${cfg.port}`,
          peers: peers as never,
          join: cfg.join,
          token: adminToken,
          caCert: tls.caCert,
          authenticate: (md) => checkAdminToken(adminToken, authorization({ metadata: md })),
          logger: log,
          tick_ms: cfg.raftTickMs,
          shard: {
            compact_after_entries: cfg.raftCompactAfter,
            retain_entries: Math.min(10_000, Math.floor(cfg.raftCompactAfter / 5)),
          },
        });
    if (raft !== undefined) {
      closers.push(() => raft.close());
      // A raw Raft group every node hosts: health probes and `pnpm bench raft` (no view reads it).
      await raft.openShard(toShardId(RAFT_PROBE_GROUP), join(cfg.home, 'raft', RAFT_PROBE_GROUP));
    }

    const view = ViewStore.open({ dir: join(cfg.home, 'view'), blockSize: cfg.blockSizeBytes });
    closers.push(() => view.close());

    const state = new NodeState(
      nodeId.slice(0, 12),
      cfg.home,
      view,
      chunks,
      (shard, dir) =>
        raft !== undefined
          ? raft.openShard(toShardId(shard), dir, { repair: cfg.repairWal })
          : openSingleReplicaLog(shard, dir, log, { repair: cfg.repairWal }),
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
    raft?.transport.addToServer(server);
    addDeviceService(
      server,
      devices,
      (md) => checkAdminToken(adminToken, authorization({ metadata: md })),
      log,
    );
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

    return { grpcPort, chunkPort, caPath: tls.caPath, state, raft, close: closeAll };
  } catch (err) {
    await closeAll().catch(() => {});
    throw err;
  }
}
