/**
 * What one node holds: the view, the chunk store, and per tenant a shard (log, materializer,
 * composition). Single node: one namespace shard per tenant.
 */
import { join } from 'node:path';
import { KisekiError } from '@kiseki/proto';
import type { Logger } from 'pino';
import type { ChunkStore } from '../chunk/index.ts';
import { NamespaceShard } from '../composition/index.ts';
import type { TenantRecord } from '../control/index.ts';
import type { ShardLog } from '../log/index.ts';
import { Materializer, type ViewStore } from '../view/index.ts';

export interface TenantShard {
  readonly tenant: string;
  readonly shard: string;
  readonly log: ShardLog;
  readonly materializer: Materializer;
  readonly namespace: NamespaceShard;
}

export type OpenLog = (shard: string, dir: string) => Promise<ShardLog>;

export class NodeState {
  readonly #byTenant = new Map<string, TenantShard>();
  readonly #byShard = new Map<string, TenantShard>();

  constructor(
    readonly nodeId: string,
    readonly home: string,
    readonly view: ViewStore,
    readonly chunks: ChunkStore,
    private readonly openLog: OpenLog,
    private readonly log: Logger,
  ) {}

  /** Opens a tenant's shard: replays the log into the view up to its end, then follows it. */
  async addTenant(rec: TenantRecord): Promise<TenantShard> {
    const existing = this.#byTenant.get(rec.name);
    if (existing) return existing;
    const log = await this.openLog(rec.shard, join(this.home, 'log', rec.shard));
    this.view.ensureRoot(rec.name, this.view.blockSize, rec.createdAtMs);
    const materializer = new Materializer(rec.shard, log, this.view);
    const replayed = await materializer.catchUp();
    if (replayed > 0)
      this.log.info(
        { shard: rec.shard, replayed, watermark: materializer.applied },
        'view caught up from the log',
      );
    if (materializer.applied > log.committedSeq()) {
      throw new KisekiError(
        'KISEKI_E_CORRUPT',
        `view of ${rec.shard} is ahead of its log (${materializer.applied} > ${log.committedSeq()}): the log lost committed deltas. ` +
          `Restore ${join(this.home, 'log', rec.shard)} from a replica or backup; or accept losing the deltas after seq ` +
          `${log.committedSeq()} by removing ${join(this.home, 'view')} so the view is rebuilt from the log as it is.`,
      );
    }
    materializer.start();
    const chunks = this.chunks;
    const namespace = new NamespaceShard(rec.shard, rec.name, log, this.view, materializer, {
      async missing(tenant, ids) {
        const out: string[] = [];
        for (const id of ids) if (!(await chunks.has(tenant as never, id as never))) out.push(id);
        return out;
      },
    });
    const t: TenantShard = { tenant: rec.name, shard: rec.shard, log, materializer, namespace };
    this.#byTenant.set(rec.name, t);
    this.#byShard.set(rec.shard, t);
    return t;
  }

  shard(tenant: string): TenantShard {
    const t = this.#byTenant.get(tenant);
    if (!t) throw new KisekiError('KISEKI_E_NOENT', `tenant ${tenant} has no shard on this node`);
    return t;
  }

  shardById(shard: string): TenantShard {
    const t = this.#byShard.get(shard);
    if (!t) throw new KisekiError('KISEKI_E_NOENT', `no shard ${shard} on this node`);
    return t;
  }

  shards(): TenantShard[] {
    return [...this.#byTenant.values()];
  }

  async close(): Promise<void> {
    for (const t of this.#byTenant.values()) {
      await t.materializer.stop();
      await t.log.close();
    }
  }
}
