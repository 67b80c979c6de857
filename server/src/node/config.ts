/**
 * Node configuration: command-line flags over an optional <home>/config.json over embedded
 * defaults. The file holds no secrets and any key-like field is refused (I-K8).
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { KisekiError } from '@kiseki/proto';

export interface NodeConfig {
  readonly home: string;
  readonly host: string;
  /** gRPC (TLS) port; the chunk data port is `port + 1` unless set. */
  readonly port: number;
  readonly chunkPort: number;
  readonly deviceSizeBytes: number;
  /** File block (chunk) size for new files. */
  readonly blockSizeBytes: number;
  readonly criticalRatio: number;
  readonly keyCacheTtlMs: number;
  readonly gcGraceMs: number;
  readonly logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Cut a corrupt WAL at the first bad record instead of refusing to start (loses what follows). */
  readonly repairWal: boolean;
  /** How long a client's advisory locks outlive its last lease renewal. */
  readonly lockLeaseMs: number;
  /** This node's Raft id (≥ 1, never reused). */
  readonly nodeId: number;
  /**
   * Founding Raft voters as `id=host:port,…` (may include this node). Empty: a one-node cluster.
   * A joining node lists the members it can reach.
   */
  readonly peers: string;
  /** Start with no Raft membership and wait to be added (`kiseki node add`). */
  readonly join: boolean;
  /** Milliseconds per Raft tick (heartbeat: 1 tick; election timeout: 10–20 ticks). */
  readonly raftTickMs: number;
  /** Compact a shard's Raft log once this many applied entries are above its first index. */
  readonly raftCompactAfter: number;
}

export const DEFAULTS: Omit<NodeConfig, 'home'> = {
  host: '127.0.0.1',
  port: 7420,
  chunkPort: 0,
  deviceSizeBytes: 16 * 1024 ** 3,
  blockSizeBytes: 1024 * 1024,
  criticalRatio: 0.85, // I-C5: SSD Critical threshold
  keyCacheTtlMs: 60_000,
  gcGraceMs: 10 * 60_000,
  logLevel: 'info',
  repairWal: false,
  lockLeaseMs: 30_000,
  nodeId: 1,
  peers: '',
  join: false,
  raftTickMs: 100,
  raftCompactAfter: 50_000,
};

const KEYS = new Set(Object.keys(DEFAULTS));
const SECRET_LIKE = /key|secret|token|password|credential/i;

export function defaultHome(): string {
  return process.env.KISEKI_HOME ?? join(homedir(), '.kiseki');
}

function check(c: NodeConfig): NodeConfig {
  const bad = (what: string) => {
    throw new KisekiError('KISEKI_E_INVAL', `config: ${what}`);
  };
  if (!Number.isInteger(c.port) || c.port < 0 || c.port > 65535) bad(`port ${c.port} is not a TCP port`);
  if (!Number.isInteger(c.chunkPort) || c.chunkPort < 0 || c.chunkPort > 65535)
    bad('chunkPort is not a TCP port');
  if (!Number.isSafeInteger(c.deviceSizeBytes) || c.deviceSizeBytes < 16 * 1024 * 1024)
    bad('deviceSizeBytes must be at least 16 MiB');
  const bs = c.blockSizeBytes;
  if (!Number.isInteger(bs) || bs < 4096 || bs > 16 * 1024 * 1024 || (bs & (bs - 1)) !== 0) {
    bad('blockSizeBytes must be a power of two between 4 KiB and 16 MiB');
  }
  if (!(c.criticalRatio > 0 && c.criticalRatio <= 1)) bad('criticalRatio must be in (0, 1]');
  if (!(c.keyCacheTtlMs >= 1000)) bad('keyCacheTtlMs must be at least 1000');
  if (!Number.isInteger(c.lockLeaseMs) || c.lockLeaseMs < 1000 || c.lockLeaseMs > 3_600_000)
    bad('lockLeaseMs must be between 1000 and 3600000');
  if (!Number.isSafeInteger(c.nodeId) || c.nodeId < 1 || c.nodeId > 0xffff_ffff)
    bad('nodeId must be an integer ≥ 1');
  parsePeers(c.peers);
  if (!Number.isInteger(c.raftTickMs) || c.raftTickMs < 10 || c.raftTickMs > 10_000)
    bad('raftTickMs must be between 10 and 10000');
  if (!Number.isSafeInteger(c.raftCompactAfter) || c.raftCompactAfter < 100)
    bad('raftCompactAfter must be ≥ 100');
  return c;
}

/** `1=127.0.0.1:7420,2=host:7430` → Map(1 → '127.0.0.1:7420', …). Throws KISEKI_E_INVAL. */
export function parsePeers(spec: string): Map<number, string> {
  const out = new Map<number, string>();
  if (spec.trim() === '') return out;
  for (const part of spec.split(',')) {
    const m = /^\s*(\d+)=([\w.-]{1,253}):(\d{1,5})\s*$/.exec(part);
    const id = m ? Number(m[1]) : 0;
    const port = m ? Number(m[3]) : 0;
    if (!m || id < 1 || id > 0xffff_ffff || port < 1 || port > 65535 || out.has(id)) {
      throw new KisekiError(
        'KISEKI_E_INVAL',
        `config: peer '${part}': use id=host:port, ids ≥ 1 and distinct`,
      );
    }
    out.set(id, `${m[2]}:${port}`);
  }
  return out;
}

/** Reads <home>/config.json (if any) and applies `overrides` on top. */
export function loadConfig(home: string, overrides: Partial<NodeConfig> = {}): NodeConfig {
  const abs = resolve(home);
  const file = join(abs, 'config.json');
  let fromFile: Record<string, unknown> = {};
  if (existsSync(file)) {
    try {
      fromFile = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new KisekiError(
        'KISEKI_E_INVAL',
        `config: ${file} is not valid JSON (${(err as Error).message})`,
      );
    }
    if (typeof fromFile !== 'object' || fromFile === null || Array.isArray(fromFile)) {
      throw new KisekiError('KISEKI_E_INVAL', `config: ${file} must hold a JSON object`);
    }
    for (const [k, v] of Object.entries(fromFile)) {
      if (SECRET_LIKE.test(k) && !KEYS.has(k))
        throw new KisekiError(
          'KISEKI_E_INVAL',
          `config: '${k}' looks like a secret; keys never go in config files`,
        );
      if (!KEYS.has(k)) throw new KisekiError('KISEKI_E_INVAL', `config: unknown setting '${k}'`);
      if (typeof v !== typeof (DEFAULTS as Record<string, unknown>)[k])
        throw new KisekiError('KISEKI_E_INVAL', `config: '${k}' has the wrong type`);
    }
  }
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const merged = { ...DEFAULTS, ...fromFile, ...defined, home: abs } as NodeConfig;
  return check({ ...merged, chunkPort: merged.chunkPort || (merged.port ? merged.port + 1 : 0) });
}
