/**
 * The v1 gRPC services of one node. Every tenant call is scoped to the tenant of its session:
 * no request field can name another tenant (I-T1).
 */
import type * as grpc from '@grpc/grpc-js';
import {
  type Attr,
  chunkIdHex,
  DeltaHeaderCodec,
  decodeDeltaEnvelope,
  GRPC_MESSAGE_BYTES_MAX,
  KisekiError,
  kisekiV1,
  type ReadOptions__Output,
} from '@kiseki/proto';
import type { Logger } from 'pino';
import { LockTable } from '../composition/index.ts';
import type { TenantRegistry } from '../control/index.ts';
import type { KeyManager } from '../keys/index.ts';
import { type ReadCtx, toAttr } from '../view/index.ts';

import { checkAdminToken, type SessionAuthority } from './auth.ts';
import { authorization, parseClientEnvelope, unary } from './grpc-util.ts';
import { addLockService } from './lock-service.ts';
import type { Pins } from './pins.ts';
import type { NodeState, TenantShard } from './state.ts';

export const READDIR_LIMIT_MAX = 1024;
export const CHUNK_HAS_BATCH_MAX = 4096;
export const LOG_APPEND_BATCH_MAX = 1024;

export interface ServiceDeps {
  readonly log: Logger;
  readonly state: NodeState;
  readonly sessions: SessionAuthority;
  readonly tenants: TenantRegistry;
  readonly keys: KeyManager;
  readonly pins: Pins;
  readonly adminToken: string;
  /** How long a client's advisory locks outlive its last renewal. */
  readonly lockLeaseMs?: number;
  /** The marker that says locks may have been held when the process ended (see locks.ts). */
  readonly lockMarkerPath?: string;
  readonly chunkUrl: string;
  readonly blockSizeBytes: number;
  readonly startedAtMs: number;
  readonly version: string;
}

export function addServices(server: grpc.Server, d: ServiceDeps): void {
  const v1 = kisekiV1();
  const { log, state } = d;

  const session = (call: { metadata: grpc.Metadata }): TenantShard => {
    const s = d.sessions.verify(authorization(call));
    return state.shard(s.tenant);
  };
  const admin = (call: { metadata: grpc.Metadata }) => checkAdminToken(d.adminToken, authorization(call));

  /** Read context for a view read: a pinned snapshot, and/or wait for read-your-writes. */
  const readCtx = async (t: TenantShard, r: ReadOptions__Output | null): Promise<ReadCtx> => {
    if (r?.minSeq) await t.materializer.waitFor(r.minSeq);
    if (r?.pin) return { transaction: d.pins.get(t.tenant, r.pin) };
    return {};
  };
  const attrOf = (t: TenantShard, ino: number, ctx: ReadCtx): Attr => {
    const rec = state.view.getInode(t.tenant, ino, ctx);
    if (!rec) throw new KisekiError('KISEKI_E_NOENT', `no inode ${ino}`);
    return toAttr(ino, rec);
  };

  server.addService(v1.Session.service, {
    Open: unary(log, 'Session.Open', (req: { tenant: string; credential: string }) => {
      const rec = d.tenants.authenticate(req.tenant, req.credential);
      const { token, expiresAtMs } = d.sessions.issue(rec.name);
      return {
        sessionToken: token,
        expiresAtMs,
        chunkUrl: d.chunkUrl,
        shard: rec.shard,
        rootIno: 1,
        blockSize: d.blockSizeBytes,
        dedup: rec.dedup === 'global' ? 'DEDUP_POLICY_GLOBAL' : 'DEDUP_POLICY_TENANT',
        maxNameBytes: 255,
      };
    }),
  });

  server.addService(v1.Key.service, {
    GetTenantKeys: unary(log, 'Key.GetTenantKeys', async (_req, call) => {
      const t = session(call);
      const set = await d.keys.tenantKeys(t.tenant);
      return {
        currentEpoch: set.currentEpoch,
        // Copies: the cache may wipe its buffers when the entry expires.
        epochs: set.epochs.map((e) => ({
          epoch: e.epoch,
          tenantKey: Buffer.from(e.tenantKey),
          systemPart: Buffer.from(e.systemPart),
        })),
        cacheTtlMs: set.cacheTtlMs,
      };
    }),
  });

  addLockService(
    server,
    v1,
    log,
    (call) => session(call).tenant,
    new LockTable(d.lockLeaseMs, Date.now, undefined, d.lockMarkerPath),
  );

  server.addService(v1.Composition.service, {
    Mutate: unary(log, 'Composition.Mutate', async (req, call) => {
      const t = session(call);
      return t.namespace.mutate(req as never);
    }),
  });

  server.addService(v1.View.service, {
    Lookup: unary(
      log,
      'View.Lookup',
      async (req: { parent: number; nameToken: Buffer; read: ReadOptions__Output | null }, call) => {
        const t = session(call);
        const ctx = await readCtx(t, req.read);
        const parent = state.view.getInode(t.tenant, req.parent, ctx);
        if (!parent) throw new KisekiError('KISEKI_E_NOENT', `no inode ${req.parent}`);
        if (parent.kind !== 'dir')
          throw new KisekiError('KISEKI_E_NOTDIR', 'lookup in something that is not a directory');
        const e = state.view.lookup(t.tenant, req.parent, req.nameToken.toString('hex'), ctx);
        if (!e) throw new KisekiError('KISEKI_E_NOENT', 'no such entry');
        return { attr: attrOf(t, e.ino, ctx) };
      },
    ),
    GetAttr: unary(
      log,
      'View.GetAttr',
      async (req: { ino: number; read: ReadOptions__Output | null }, call) => {
        const t = session(call);
        return attrOf(t, req.ino, await readCtx(t, req.read));
      },
    ),
    ListXattrs: unary(
      log,
      'View.ListXattrs',
      async (req: { ino: number; read: ReadOptions__Output | null }, call) => {
        const t = session(call);
        const ctx = await readCtx(t, req.read);
        attrOf(t, req.ino, ctx); // NOENT for a missing inode
        const xattrs = state.view
          .listXattrs(t.tenant, req.ino, ctx)
          .map((x) => ({ nameToken: Buffer.from(x.tokenHex, 'hex'), payload: Buffer.from(x.payload) }));
        return { xattrs };
      },
    ),
    ReadDir: unary(
      log,
      'View.ReadDir',
      async (
        req: { ino: number; afterToken: Buffer; limit: number; read: ReadOptions__Output | null },
        call,
      ) => {
        const t = session(call);
        const ctx = await readCtx(t, req.read);
        const dir = state.view.getInode(t.tenant, req.ino, ctx);
        if (!dir) throw new KisekiError('KISEKI_E_NOENT', `no inode ${req.ino}`);
        if (dir.kind !== 'dir')
          throw new KisekiError('KISEKI_E_NOTDIR', 'readdir of something that is not a directory');
        const limit = Math.min(req.limit || READDIR_LIMIT_MAX, READDIR_LIMIT_MAX);
        const entries = [];
        let more = false;
        for (const { tokenHex, entry } of state.view.readdir(
          t.tenant,
          req.ino,
          req.afterToken.toString('hex'),
          limit,
          ctx,
        )) {
          if (entries.length === limit) {
            more = true;
            break;
          }
          const rec = state.view.getInode(t.tenant, entry.ino, ctx);
          if (!rec) continue;
          entries.push({
            nameToken: Buffer.from(tokenHex, 'hex'),
            payload: Buffer.from(entry.payload),
            attr: toAttr(entry.ino, rec),
          });
        }
        return { entries, more };
      },
    ),
    GetBlocks: unary(
      log,
      'View.GetBlocks',
      async (
        req: { ino: number; fromIndex: number; toIndex: number; read: ReadOptions__Output | null },
        call,
      ) => {
        const t = session(call);
        const ctx = await readCtx(t, req.read);
        const attr = attrOf(t, req.ino, ctx);
        const to = Math.min(req.toIndex, req.fromIndex + 65_535);
        const blocks = state.view
          .blocks(t.tenant, req.ino, req.fromIndex, to, ctx)
          .map((b) => ({ index: b.index, chunkId: Buffer.from(b.chunk, 'hex'), len: b.len }));
        return { blocks, attr };
      },
    ),
    Pin: unary(log, 'View.Pin', (req: { ttlMs: number }, call) => {
      const t = session(call);
      return d.pins.pin(t.tenant, req.ttlMs, state.view.watermark(t.shard));
    }),
    StatFs: unary(log, 'View.StatFs', (_req, call) => {
      const t = session(call);
      const s = state.chunks.stats();
      return {
        capacityBytes: s.capacityBytes,
        freeBytes: s.freeBytes,
        inodes: state.view.countInodes(t.tenant),
        blockSize: d.blockSizeBytes,
        maxNameBytes: 255,
      };
    }),
    Unpin: unary(log, 'View.Unpin', (req: { pin: number }, call) => {
      const t = session(call);
      d.pins.unpin(t.tenant, req.pin);
      return {};
    }),
  });

  server.addService(v1.Chunk.service, {
    Put: unary(log, 'Chunk.Put', async (req: { chunkId: Buffer; envelope: Buffer }, call) => {
      const t = session(call);
      const h = parseClientEnvelope(req.envelope);
      if (!Buffer.from(h.chunkId).equals(req.chunkId))
        throw new KisekiError('KISEKI_E_INVAL', 'envelope is for another chunk id');
      const r = await state.chunks.put(t.tenant as never, chunkIdHex(req.chunkId), req.envelope);
      return { created: r.created };
    }),
    Get: unary(log, 'Chunk.Get', async (req: { chunkId: Buffer }, call) => {
      const t = session(call);
      return { envelope: await state.chunks.get(t.tenant as never, chunkIdHex(req.chunkId)) };
    }),
    Has: unary(log, 'Chunk.Has', async (req: { chunkIds: Buffer[] }, call) => {
      const t = session(call);
      if (req.chunkIds.length > CHUNK_HAS_BATCH_MAX)
        throw new KisekiError('KISEKI_E_TOOBIG', 'too many ids in one call');
      const present = [];
      for (const id of req.chunkIds) present.push(await state.chunks.has(t.tenant as never, chunkIdHex(id)));
      return { present };
    }),
    Release: unary(log, 'Chunk.Release', async (req: { chunkId: Buffer }, call) => {
      const t = session(call);
      // A client may drop a chunk it uploaded but never referenced; referenced chunks stay (I-C2).
      await t.namespace.exclusive(async () => {
        const id = chunkIdHex(req.chunkId);
        if (state.view.chunkRefs(t.tenant, id) === 0 && (await state.chunks.has(t.tenant as never, id))) {
          await state.chunks.delete(t.tenant as never, id);
        }
      });
      return {};
    }),
  });

  server.addService(v1.Log.service, {
    Append: unary(log, 'Log.Append', async (req: { shard: string; deltas: Buffer[] }, call) => {
      // Cluster-internal (admin token). Raw deltas get no short cut: each is decoded and
      // validated exactly like a tenant's Composition.Mutate before it is appended, so a bad
      // delta can never reach the view.
      admin(call);
      const t = state.shardById(req.shard);
      if (req.deltas.length > LOG_APPEND_BATCH_MAX)
        throw new KisekiError('KISEKI_E_TOOBIG', 'too many deltas in one append');
      const seqs: number[] = [];
      for (const bytes of req.deltas) {
        const env = decodeDeltaEnvelope(bytes);
        const h = DeltaHeaderCodec.decode(env.header);
        if (h.version !== 1)
          throw new KisekiError('KISEKI_E_INVAL', `delta header version ${h.version} is not supported`);
        if (h.tenant !== t.tenant)
          throw new KisekiError('KISEKI_E_PERM', `delta is for tenant ${h.tenant}, shard ${t.shard} is not`);
        if (!h.op) throw new KisekiError('KISEKI_E_INVAL', 'delta names no operation');
        const r = await t.namespace.mutate({
          [h.op]: h[h.op],
          op: h.op,
          payload: Buffer.from(env.payload),
        } as never);
        seqs.push(r.seq);
      }
      return { seqs };
    }),
    ReadRange: unary(
      log,
      'Log.ReadRange',
      async (req: { shard: string; from: number; to: number; maxBytes: number }, call) => {
        admin(call);
        const t = state.shardById(req.shard);
        const committed = t.log.committedSeq();
        const from = Math.max(1, req.from);
        const to = Math.min(req.to || committed, committed);
        if (from > to) return { entries: [], committed };
        const entries = await t.log.read(
          from as never,
          to as never,
          Math.min(req.maxBytes || 4 << 20, 16 << 20),
        );
        return { entries: entries.map((e) => ({ seq: e.seq, delta: Buffer.from(e.payload) })), committed };
      },
    ),
    Watch: (call: grpc.ServerWritableStream<{ shard: string; from: number }, unknown>) => {
      try {
        admin(call);
        const t = state.shardById(call.request.shard);
        const ac = new AbortController();
        call.on('cancelled', () => ac.abort());
        (async () => {
          for await (const e of t.log.watch(Math.max(1, call.request.from) as never, ac.signal)) {
            if (!call.write({ seq: e.seq, delta: Buffer.from(e.payload) }))
              await new Promise((r) => call.once('drain', r));
          }
          call.end();
        })().catch((err) => call.destroy(err as Error));
      } catch (err) {
        call.destroy(err as Error);
      }
    },
  });

  server.addService(v1.Control.service, {
    CreateTenant: unary(log, 'Control.CreateTenant', async (req: { name: string; dedup: string }, call) => {
      admin(call);
      const dedup = req.dedup === 'DEDUP_POLICY_GLOBAL' ? 'global' : 'tenant';
      const { record, credential } = await d.tenants.create(req.name, dedup);
      try {
        await d.keys.createTenant(record.name);
      } catch (err) {
        // No tenant without keys: a KMS failure leaves the name free for a retry.
        await d.tenants.abandon(record.name, record.credentialSha256);
        throw err;
      }
      await state.addTenant(record);
      log.info({ tenant: record.name, dedup }, 'tenant created');
      return { name: record.name, credential };
    }),
    ListTenants: unary(log, 'Control.ListTenants', (_req, call) => {
      admin(call);
      return {
        tenants: d.tenants.list().map((t) => ({
          name: t.name,
          dedup: t.dedup === 'global' ? 'DEDUP_POLICY_GLOBAL' : 'DEDUP_POLICY_TENANT',
          createdAtMs: t.createdAtMs,
          keyEpoch: 1,
          kmsProvider: d.keys.providerKind(t.name),
        })),
      };
    }),
    ListNamespaces: unary(log, 'Control.ListNamespaces', (req: { tenant: string }, call) => {
      admin(call);
      return {
        namespaces: d.tenants
          .list()
          .filter((t) => !req.tenant || t.name === req.tenant)
          .map((t) => ({
            tenant: t.name,
            name: 'default',
            shard: t.shard,
            inodes: state.view.countInodes(t.name),
          })),
      };
    }),
    Status: unary(log, 'Control.Status', (_req, call) => {
      admin(call);
      const s = state.chunks.stats();
      return {
        nodeId: state.nodeId,
        version: d.version,
        uptimeMs: Date.now() - d.startedAtMs,
        capacityBytes: s.capacityBytes,
        usedBytes: s.usedBytes,
        chunks: s.chunks,
        shards: state.shards().map((t) => ({
          shard: t.shard,
          committed: t.log.committedSeq(),
          applied: t.materializer.applied,
          first: 1,
        })),
        tenants: d.tenants.list().length,
      };
    }),
  });
  void GRPC_MESSAGE_BYTES_MAX;
}
