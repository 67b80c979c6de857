/**
 * kiseki-server: one process per node. Prints `kiseki-server: listening grpc=<port> chunks=<port>`
 * on stdout once it serves, and stops cleanly on SIGINT/SIGTERM.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KisekiError } from '@kiseki/proto';
import pino from 'pino';
import { defaultHome, loadConfig } from './config.ts';
import { startNode } from './node.ts';
import { seedHome } from './seed.ts';

const HELP = `Usage: kiseki-server [options]

Runs a Kiseki node with every role (log, chunk store, views, keys, control plane).

Options:
  --home DIR           data directory (default: $KISEKI_HOME or ~/.kiseki)
  --host ADDR          address to listen on (default 127.0.0.1)
  --port N             gRPC TLS port (default 7420; 0 = any free port)
  --chunk-port N       chunk data port (default: port + 1)
  --device-size BYTES  size of the file-backed device on first start (default 16 GiB, sparse)
  --block-size BYTES   file block size for new namespaces (default 1 MiB)
  --log-level LEVEL    trace|debug|info|warn|error|silent (default info)
  --gc-grace-ms MS     age before an unreferenced chunk may be freed (default 600000)
  --repair-wal         cut a corrupt WAL at its first bad record instead of refusing to
                       start; everything after that record is lost
  --node-id N          this node's Raft id, ≥ 1, never reused (default 1)
  --peers LIST         founding Raft voters: id=host:port,... (may include this node);
                       none: a one-node cluster
  --join               start with no Raft membership; wait for \`kiseki node add\`
  --seed-home DIR      on first start, copy the cluster identity (CA and node certificate,
                       admin token, tenants and their keys) from another node's home on
                       this machine
  --raft-tick-ms MS    Raft tick (default 100; elections after 10-20 ticks)
  --raft-compact-after N  compact a shard's Raft log past N applied entries (default 50000)
  -h, --help           show this help
Settings may also come from <home>/config.json (no secrets allowed there).`;

function num(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new KisekiError('KISEKI_E_INVAL', `${what} must be a number, got '${v}'`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      home: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'chunk-port': { type: 'string' },
      'device-size': { type: 'string' },
      'block-size': { type: 'string' },
      'log-level': { type: 'string' },
      'gc-grace-ms': { type: 'string' },
      'repair-wal': { type: 'boolean' },
      'node-id': { type: 'string' },
      peers: { type: 'string' },
      join: { type: 'boolean' },
      'seed-home': { type: 'string' },
      'raft-tick-ms': { type: 'string' },
      'raft-compact-after': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const home = values.home ?? defaultHome();
  if (values['seed-home'] !== undefined) seedHome(values['seed-home'], home);
  const cfg = loadConfig(home, {
    host: values.host,
    port: num(values.port, '--port'),
    chunkPort: num(values['chunk-port'], '--chunk-port'),
    deviceSizeBytes: num(values['device-size'], '--device-size'),
    blockSizeBytes: num(values['block-size'], '--block-size'),
    logLevel: values['log-level'] as never,
    gcGraceMs: num(values['gc-grace-ms'], '--gc-grace-ms'),
    repairWal: values['repair-wal'],
    nodeId: num(values['node-id'], '--node-id'),
    peers: values.peers,
    join: values.join,
    raftTickMs: num(values['raft-tick-ms'], '--raft-tick-ms'),
    raftCompactAfter: num(values['raft-compact-after'], '--raft-compact-after'),
  });
  const log = pino({ level: cfg.logLevel, base: { svc: 'kiseki-server' } }, pino.destination(2));
  const node = await startNode(cfg, log);
  log.info({ home: cfg.home, grpcPort: node.grpcPort, chunkPort: node.chunkPort }, 'serving');
  // Where local tools (kiseki, mount.kiseki) find this node; removed on a clean stop.
  const endpoint = join(cfg.home, 'server.json');
  writeFileSync(
    endpoint,
    `${JSON.stringify({ pid: process.pid, host: cfg.host, grpcPort: node.grpcPort, chunkPort: node.chunkPort })}\n`,
  );
  process.stdout.write(`kiseki-server: listening grpc=${node.grpcPort} chunks=${node.chunkPort}\n`);
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ sig }, 'stopping');
    rmSync(join(cfg.home, 'server.json'), { force: true });
    node.close().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err) => {
  const msg =
    err instanceof KisekiError ? `${err.code}: ${err.message}` : ((err as Error).stack ?? String(err));
  process.stderr.write(`kiseki-server: ${msg}\n`);
  process.exit(err instanceof KisekiError ? 2 : 1);
});
