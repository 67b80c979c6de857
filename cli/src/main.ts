/** kiseki: the admin CLI. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type DeviceStatus, KisekiError } from '@kiseki/proto';
import { Command, InvalidArgumentError } from 'commander';
import { Admin } from './admin.ts';
import {
  CACHE_BYTES_DEFAULT,
  cacheStats,
  cacheWipe,
  defaultCacheDir,
  namespacePath,
  progressBar,
  stage,
} from './cache.ts';
import { deviceCall, formatDevices } from './device.ts';
import { caPath, credentialPath, defaultHome, defaultMount, serverAddress } from './home.ts';
import {
  addKmsOptions,
  formatAudit,
  formatKmsReport,
  type KmsOptions,
  kmsConfigFromOptions,
  runKmsTool,
} from './kms.ts';
import { formatGroups, RaftAdmin } from './raft.ts';
import { MOUNT_BIN, up } from './up.ts';

function int(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}

function bytes(v: string): number {
  const m = /^(\d+)([KMGT]i?B?)?$/i.exec(v.trim());
  if (!m) throw new InvalidArgumentError('expected a size like 512M or 16G');
  const unit = (m[2] ?? '').toUpperCase()[0];
  const mult =
    unit === 'K' ? 1024 : unit === 'M' ? 1024 ** 2 : unit === 'G' ? 1024 ** 3 : unit === 'T' ? 1024 ** 4 : 1;
  return Number(m[1]) * mult;
}

function fmtBytes(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
}

const program = new Command()
  .name('kiseki')
  .description('Kiseki: distributed, encrypted storage for HPC and AI. Admin CLI.')
  .option('--home <dir>', 'node home directory (data, keys, TLS)', defaultHome())
  .option('--server <host:port>', 'kiseki-server gRPC address (default: from <home>/server.json)');

const opts = () => program.opts<{ home: string; server?: string }>();

program
  .command('up')
  .description('start a single-node Kiseki and mount it (foreground; Ctrl-C unmounts and stops)')
  .option('--mount <dir>', 'mount point', defaultMount())
  .option('--port <n>', 'gRPC port (chunk data uses port + 1)', int, 7420)
  .option('--device-size <size>', 'file-backed device size on first start (e.g. 16G)', bytes)
  .action(async (o: { mount: string; port: number; deviceSize?: number }, cmd: Command) => {
    // The default mount point is created; one named on the command line must exist.
    const explicitMount = cmd.getOptionValueSource('mount') === 'cli';
    process.exitCode = await up({
      home: opts().home,
      mount: o.mount,
      port: o.port,
      deviceSizeBytes: o.deviceSize,
      createMount: !explicitMount,
    });
  });

program
  .command('status')
  .description('show the node: capacity, shards, tenants')
  .option('--json', 'machine-readable output')
  .action(async (o: { json?: boolean }) => {
    const admin = new Admin(opts().home, opts().server);
    try {
      const s = await admin.status();
      if (o.json) {
        process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
        return;
      }
      process.stdout.write(
        `${[
          `node      ${s.nodeId}  (kiseki ${s.version}, up ${Math.round(s.uptimeMs / 1000)} s)`,
          `capacity  ${fmtBytes(s.usedBytes)} used of ${fmtBytes(s.capacityBytes)} in ${s.chunks} chunks`,
          `tenants   ${s.tenants}`,
          'shards:',
          ...s.shards.map(
            (sh) => `  ${sh.shard.padEnd(24)} committed ${sh.committed}  applied ${sh.applied}`,
          ),
        ].join('\n')}\n`,
      );
    } finally {
      admin.close();
    }
  });

const kmsCmd = program.command('kms').description("a tenant's KMS provider (on this node's home)");
addKmsOptions(
  kmsCmd
    .command('configure <tenant>')
    .description('prove a KMS config (KEK made or found, a data key round-trips) and save it for the tenant'),
).action(async (name: string, o: KmsOptions) => {
  const cfg = kmsConfigFromOptions(o);
  if (!cfg) throw new KisekiError('KISEKI_E_INVAL', 'give --kms <kind> or --kms-config <file>');
  process.stdout.write(formatKmsReport(await runKmsTool('configure', opts().home, name, cfg)));
});
addKmsOptions(
  kmsCmd
    .command('migrate <tenant>')
    .description("move a tenant to another KMS without downtime: every epoch's data key is re-wrapped there"),
).action(async (name: string, o: KmsOptions) => {
  const cfg = kmsConfigFromOptions(o);
  if (!cfg) throw new KisekiError('KISEKI_E_INVAL', 'give --kms <kind> or --kms-config <file>');
  const r = await runKmsTool('migrate', opts().home, name, cfg);
  process.stdout.write(
    `tenant ${name}: moved from ${String(r.from)} to ${String(r.to)}; ${String(r.rewrapped)} epoch key(s) re-wrapped\n`,
  );
});
kmsCmd
  .command('test <tenant>')
  .description("check the tenant's KMS: reachable, credentials accepted, KEK usable (a data key round-trips)")
  .option('--json', 'print the report as JSON')
  .action(async (name: string, o: { json?: boolean }) => {
    const r = await runKmsTool('test', opts().home, name);
    process.stdout.write(o.json ? `${JSON.stringify(r)}\n` : formatKmsReport(r));
  });
kmsCmd
  .command('show <tenant>')
  .description("the tenant's KMS config, secrets redacted")
  .action(async (name: string) => {
    process.stdout.write(`${JSON.stringify(await runKmsTool('show', opts().home, name), null, 2)}\n`);
  });

const key = program.command('key').description("a tenant's data-key epochs (on this node's home)");
key
  .command('rotate <tenant>')
  .description(
    'add a data-key epoch from the tenant KMS: new writes use it once key caches refresh; old epochs stay readable (I-K6)',
  )
  .action(async (name: string) => {
    const r = await runKmsTool('rotate', opts().home, name);
    process.stdout.write(`tenant ${name}: epoch ${String(r.epoch)} is current for new writes\n`);
  });
key
  .command('status <tenant>')
  .description("the tenant's epochs, the current one, and the provider that wrapped each")
  .option('--json', 'print the report as JSON')
  .action(async (name: string, o: { json?: boolean }) => {
    const r = await runKmsTool('status', opts().home, name);
    const epochs = r.epochs as Array<{ epoch: number; wrappedBy?: string }>;
    process.stdout.write(
      o.json
        ? `${JSON.stringify(r)}\n`
        : `tenant ${name}: kms=${String(r.kms)}${r.shredded ? ' SHREDDED' : ''} current epoch ${String(r.currentEpoch)}; epochs ${epochs.map((e) => `${e.epoch}(${e.wrappedBy ?? '?'})`).join(' ')}\n`,
    );
  });
key
  .command('cutover <tenant> <epoch>')
  .description('retire epochs older than <epoch> (not built yet: old data must be re-encrypted first)')
  .action(() => {
    throw new KisekiError(
      'KISEKI_E_UNSUPPORTED',
      'key cutover is not implemented yet: retiring an epoch needs its data re-encrypted under a newer one first (issue 5)',
    );
  });

program
  .command('audit <tenant>')
  .description("the tenant's key audit trail (every key operation, who and when), with its hash-chain check")
  .option('--json', 'print the trail as JSON')
  .action(async (name: string, o: { json?: boolean }) => {
    const r = await runKmsTool('audit', opts().home, name);
    process.stdout.write(o.json ? `${JSON.stringify(r)}\n` : formatAudit(r));
    if (!(r.chain as { ok: boolean }).ok) process.exitCode = 1;
  });

const tenant = program.command('tenant').description('manage tenants');
addKmsOptions(
  tenant
    .command('create <name>')
    .description('create a tenant; prints its workload credential once and saves it under <home>/tenants')
    .option('--dedup <mode>', 'chunk dedup domain: tenant (HMAC ids) or global (SHA-256 ids)', 'tenant'),
).action(async (name: string, o: { dedup: string } & KmsOptions) => {
  if (o.dedup !== 'tenant' && o.dedup !== 'global')
    throw new KisekiError('KISEKI_E_INVAL', '--dedup is tenant or global');
  // The tenant's KMS is proven and saved first: the server makes its keys there on create.
  const kms = kmsConfigFromOptions(o);
  if (kms) process.stdout.write(formatKmsReport(await runKmsTool('configure', opts().home, name, kms)));
  const admin = new Admin(opts().home, opts().server);
  try {
    const r = await admin.createTenant(name, o.dedup);
    const path = credentialPath(opts().home, r.name);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, `${r.credential}\n`, { mode: 0o600 });
    process.stdout.write(`tenant ${r.name} created; credential saved to ${path}\n`);
  } finally {
    admin.close();
  }
});
tenant
  .command('shred <name>')
  .description(
    'crypto-shred a tenant: its KEK is destroyed in its KMS; every node and client stops reading its data within the key cache TTL (I-K5). Irreversible',
  )
  .option('--yes', 'confirm: the data becomes unreadable for good')
  .action(async (name: string, o: { yes?: boolean }) => {
    if (!o.yes)
      throw new KisekiError(
        'KISEKI_E_INVAL',
        `shredding makes tenant ${name}'s data unreadable for good: add --yes`,
      );
    await runKmsTool('shred', opts().home, name);
    process.stdout.write(
      `tenant ${name} shredded: its KEK is destroyed; cached keys expire within the key cache TTL\n`,
    );
  });
tenant
  .command('list')
  .description('list tenants')
  .action(async () => {
    const admin = new Admin(opts().home, opts().server);
    try {
      const r = await admin.listTenants();
      for (const t of r.tenants) {
        process.stdout.write(
          `${t.name.padEnd(24)} dedup=${t.dedup === 'DEDUP_POLICY_GLOBAL' ? 'global' : 'tenant'}  kms=${t.kmsProvider}  epoch=${t.keyEpoch}  created=${new Date(t.createdAtMs).toISOString()}\n`,
        );
      }
    } finally {
      admin.close();
    }
  });

program
  .command('mount <mountpoint>')
  .description('mount a tenant namespace (foreground, like mount.kiseki)')
  .option('--tenant <name>', 'tenant', 'default')
  .action(async (mountpoint: string, o: { tenant: string }) => {
    const home = opts().home;
    const child = spawn(
      MOUNT_BIN,
      [
        serverAddress(home, opts().server),
        resolve(mountpoint),
        '--tenant',
        o.tenant,
        '--ca',
        caPath(home),
        '--credential-file',
        credentialPath(home, o.tenant),
      ],
      { stdio: 'inherit' },
    );
    const fwd = (s: NodeJS.Signals) => child.kill(s);
    process.on('SIGINT', fwd);
    process.on('SIGTERM', fwd);
    process.exitCode = await new Promise<number>((r) => child.once('exit', (c) => r(c ?? 1)));
  });

program
  .command('umount <mountpoint>')
  .description('unmount a Kiseki mount')
  .action((mountpoint: string) => {
    const r = spawnSync('fusermount3', ['-u', resolve(mountpoint)], { encoding: 'utf8' });
    if (r.error) throw new KisekiError('KISEKI_E_UNAVAILABLE', 'fusermount3 not found: install fuse3');
    if (r.status !== 0) throw new KisekiError('KISEKI_E_INVAL', `unmount failed: ${r.stderr.trim()}`);
  });

program
  .command('stage <path>')
  .description(
    "prefetch a file or directory tree into this host's client cache (pinned), so reads need no chunk server; " +
      'PATH is inside a Kiseki mount or a namespace path like /datasets/x',
  )
  .option('--tenant <name>', "tenant (default: the mount's, else default)")
  .option('--cache-dir <dir>', 'client cache directory', defaultCacheDir())
  .option('--cache-bytes <size>', 'cache bound (e.g. 100G)', bytes, CACHE_BYTES_DEFAULT)
  .action(async (path: string, o: { tenant?: string; cacheDir: string; cacheBytes: number }) => {
    const home = opts().home;
    const where = namespacePath(path);
    const tenant = o.tenant ?? where.tenant ?? 'default';
    const bar = progressBar(`staging ${where.path}`, fmtBytes);
    const t0 = Date.now();
    const r = await stage(where.path, {
      server: serverAddress(home, opts().server),
      ca: caPath(home),
      tenant,
      credentialFile: credentialPath(home, tenant),
      cacheDir: o.cacheDir,
      cacheBytes: o.cacheBytes,
      progress: (done, total, files) => bar.update(done, total, `${files} files`),
    });
    bar.end();
    const s = ((Date.now() - t0) / 1000).toFixed(1);
    process.stdout.write(
      `staged ${r.files} files, ${fmtBytes(r.bytes)} in ${s} s (${r.fetchedChunks} chunks fetched, ` +
        `${r.cachedChunks} already cached); cache ${r.stats.dir}: ${fmtBytes(r.stats.pinnedBytes)} pinned, ` +
        `${fmtBytes(r.stats.bytes)} in all\n`,
    );
  });

const cache = program
  .command('cache')
  .description("this host's client cache (L2, sealed chunks on local disk)");
cache
  .command('stats')
  .description('entries and bytes in the cache, pinned and organic')
  .option('--tenant <name>', 'tenant', 'default')
  .option('--cache-dir <dir>', 'client cache directory', defaultCacheDir())
  .action((o: { tenant: string; cacheDir: string }) => {
    const s = cacheStats(o.cacheDir, o.tenant);
    process.stdout.write(
      `${s.dir}: ${s.entries} chunks, ${fmtBytes(s.bytes)} (${fmtBytes(s.pinnedBytes)} pinned, ` +
        `${fmtBytes(s.bytes - s.pinnedBytes)} organic)\n`,
    );
  });
cache
  .command('wipe')
  .description("empty the tenant's cache on this host (pinned data too)")
  .option('--tenant <name>', 'tenant', 'default')
  .option('--cache-dir <dir>', 'client cache directory', defaultCacheDir())
  .action((o: { tenant: string; cacheDir: string }) => {
    cacheWipe(o.cacheDir, o.tenant);
    process.stdout.write(`wiped ${o.cacheDir}/${o.tenant}\n`);
  });

async function withRaft(fn: (r: RaftAdmin) => Promise<void> | void): Promise<void> {
  const r = new RaftAdmin(opts().home, opts().server);
  try {
    await fn(r);
  } finally {
    r.close();
  }
}
const say = (s: string) => process.stdout.write(`${s}\n`);

const device = program
  .command('device')
  .description("this node's raw devices: block devices or preallocated files");
device
  .command('add <path>')
  .description(
    'format a block device or a file (as the server sees it) and add it to the node; refuses one holding a filesystem, partition table or Kiseki device unless --force',
  )
  .option('--force', 'destroy what is on the device')
  .option('--class <class>', 'ssd or hdd (capacity thresholds: Critical at 85% / 92%)', 'ssd')
  .option('--block-size <bytes>', 'extent alignment (default: max(4096, physical block size))', int)
  .action(async (path: string, o: { force?: boolean; class: string; blockSize?: number }) => {
    if (o.class !== 'ssd' && o.class !== 'hdd') throw new InvalidArgumentError('--class must be ssd or hdd');
    const { device: d } = await deviceCall<{ device: DeviceStatus }>(opts().home, opts().server, {
      op: 'add',
      path: resolve(path),
      deviceClass: o.class,
      ...(o.force ? { force: true } : {}),
      ...(o.blockSize === undefined ? {} : { blockSizeBytes: o.blockSize }),
    });
    say(
      `${d.path}: device ${d.deviceUuid} added (${fmtBytes(d.capacityBytes)} for data, ${d.blockSizeBytes}-byte blocks)`,
    );
  });
device
  .command('remove <device>')
  .description('unregister a device (uuid or path); refused while it holds data')
  .action(async (dev: string) => {
    const arg = dev.includes('/') ? resolve(dev) : dev;
    const { device: d } = await deviceCall<{ device: DeviceStatus }>(opts().home, opts().server, {
      op: 'remove',
      device: arg,
    });
    say(`${d.path}: device ${d.deviceUuid} removed`);
  });
device
  .command('list')
  .description('devices of the node: state, class, capacity, use and I-C5 level')
  .option('--json', 'machine-readable output')
  .action(async (o: { json?: boolean }) => {
    const { devices } = await deviceCall<{ devices: DeviceStatus[] }>(opts().home, opts().server, {
      op: 'list',
    });
    say(o.json ? JSON.stringify(devices, null, 2) : formatDevices(devices, fmtBytes));
  });

const node = program.command('node').description('Raft cluster membership (nodes started with --peers)');
node
  .command('add <id> <address>')
  .description(
    'add a node started with --join (id, host:port) to every shard: learner first, voter once caught up',
  )
  .action((id: string, address: string) => withRaft((r) => r.addNode(int(id), address, say)));
node
  .command('drain <id>')
  .description('move the leadership of every shard away from a node')
  .action((id: string) => withRaft((r) => r.drainNode(int(id), say)));
node
  .command('remove <id>')
  .description('drain a node, then remove it from every shard (refused if a shard would lose its quorum)')
  .action((id: string) => withRaft((r) => r.removeNode(int(id), say)));

const shard = program.command('shard').description('shards and their Raft groups');
shard
  .command('list')
  .description('every shard on the node: leader, term, commit index, deltas, members')
  .option('--json', 'machine-readable output')
  .action((o: { json?: boolean }) =>
    withRaft(async (r) => {
      const s = await r.status();
      say(o.json ? JSON.stringify(s, null, 2) : formatGroups(s.groups));
    }),
  );
shard
  .command('transfer-leader <shard> <to>')
  .description('hand the leadership of a shard to another voter')
  .action((name: string, to: string) =>
    withRaft(async (r) => {
      await r.transferLeader(name, int(to));
      say(`${name}: node ${to} leads`);
    }),
  );
shard
  .command('split <shard>')
  .description('split a shard (not implemented yet: issue 3)')
  .action(() => {
    throw new KisekiError('KISEKI_E_UNSUPPORTED', 'shard split is not implemented yet (issue 3)');
  });

program.parseAsync().catch((err: unknown) => {
  const msg = err instanceof KisekiError ? err.message : ((err as Error).stack ?? String(err));
  process.stderr.write(`kiseki: ${msg}\n`);
  process.exitCode = err instanceof KisekiError ? 2 : 1;
});
