/**
 * mount.kiseki: mounts a Kiseki namespace. Usable directly, as a mount(8) helper
 * (`mount -t fuse.kiseki kiseki#HOST:PORT /mnt -o tenant=...`) and from /etc/fstab.
 * Runs in the foreground and unmounts cleanly on SIGINT/SIGTERM.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CACHE_MODES, type CacheMode } from '@kiseki/client';
import { KisekiError } from '@kiseki/proto';
import { mount } from './mount.ts';

const HELP = `Usage: mount.kiseki [options] SERVER MOUNTPOINT
       mount.kiseki SOURCE MOUNTPOINT -o OPTIONS      (mount(8) helper form)

Mounts a Kiseki tenant namespace with FUSE. SERVER is host:port of a kiseki-server
(the mount(8) form also accepts kiseki#host:port).

Options:
  --home DIR               take ca, tenant credential from a kiseki home (default ~/.kiseki)
  --tenant NAME            tenant (default: default)
  --ca FILE                cluster CA certificate (default: HOME/tls/ca.crt)
  --credential-file FILE   tenant credential (default: HOME/tenants/TENANT.credential)
  --attr-timeout S         kernel attribute/entry cache seconds (default 1)
  --chunk-url URL          reach chunk servers here instead of the advertised URL
  --cache-dir DIR          the client cache on local disk, L2 (default ~/.cache/kiseki, the
                           directory \`kiseki stage\` fills); it holds sealed chunks only
  --cache-bytes N          its bound in bytes (default 10 GiB)
  --cache-mode MODE        pinned: read staged data from it, add nothing else (default);
                           organic: keep what is read, least recently used goes first;
                           bypass: don't use it
  --debug                  libfuse debug output
  -o a=b,c                 the same options in mount(8) form: home, tenant, ca,
                           credential_file, attr_timeout, chunk_url, debug,
                           cache_dir, cache_bytes, cache_mode;
                           others are ignored
  -h, --help               this help
Prints "mount.kiseki: mounted SERVER at MOUNTPOINT" when ready. Runs on libfuse3's
low-level API (1 MiB requests). Stops on SIGINT/SIGTERM, or when the mount is removed
with fusermount3 -u / umount (exit status 0 after open files are flushed).`;

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      home: { type: 'string' },
      tenant: { type: 'string' },
      ca: { type: 'string' },
      'credential-file': { type: 'string' },
      'attr-timeout': { type: 'string' },
      'chunk-url': { type: 'string' },
      'cache-dir': { type: 'string' },
      'cache-bytes': { type: 'string' },
      'cache-mode': { type: 'string' },
      debug: { type: 'boolean' },
      o: { type: 'string', short: 'o', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const o = new Map<string, string>();
  for (const group of values.o ?? []) {
    for (const kv of group.split(',')) {
      const [k, ...v] = kv.split('=');
      if (k) o.set(k, v.join('='));
    }
  }
  if (positionals.length !== 2)
    throw new KisekiError('KISEKI_E_INVAL', 'expected SERVER and MOUNTPOINT (see --help)');
  const server = positionals[0]!.replace(/^kiseki#/, '');
  const mountpoint = positionals[1]!;
  const home =
    values.home ?? o.get('home') ?? process.env.KISEKI_HOME ?? join(process.env.HOME ?? '/root', '.kiseki');
  const tenant = values.tenant ?? o.get('tenant') ?? 'default';
  const cacheMode = values['cache-mode'] ?? o.get('cache_mode') ?? 'pinned';
  if (!CACHE_MODES.includes(cacheMode as CacheMode))
    throw new KisekiError('KISEKI_E_INVAL', `--cache-mode must be one of ${CACHE_MODES.join(', ')}`);
  const cacheBytes = Number(values['cache-bytes'] ?? o.get('cache_bytes') ?? 10 * 1024 ** 3);
  if (!Number.isSafeInteger(cacheBytes) || cacheBytes < 0)
    throw new KisekiError('KISEKI_E_INVAL', '--cache-bytes must be a byte count');
  const cacheDir =
    values['cache-dir'] ??
    o.get('cache_dir') ??
    process.env.KISEKI_CACHE_DIR ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'kiseki');
  const m = await mount({
    server,
    mountpoint,
    tenant,
    ca: values.ca ?? o.get('ca') ?? join(home, 'tls', 'ca.crt'),
    credentialFile:
      values['credential-file'] ?? o.get('credential_file') ?? join(home, 'tenants', `${tenant}.credential`),
    chunkUrl: values['chunk-url'] ?? o.get('chunk_url'),
    attrTimeoutS: Number(values['attr-timeout'] ?? o.get('attr_timeout') ?? 1),
    l2: { dir: cacheDir, capacityBytes: cacheBytes, mode: cacheMode as CacheMode },
    debug: values.debug ?? o.has('debug'),
    onError: (op, detail, err) =>
      process.stderr.write(`mount.kiseki: ${op} ${detail}: ${(err as Error).stack ?? err}\n`),
  });
  m.ended.then(({ external }) => {
    if (!external) return;
    process.stderr.write(
      `mount.kiseki: ${mountpoint} was unmounted (or its FUSE connection ended); exiting\n`,
    );
    process.exit(0);
  });
  process.stdout.write(`mount.kiseki: mounted ${server} at ${mountpoint}\n`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    m.unmount().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`mount.kiseki: unmount failed: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err) => {
  const msg =
    err instanceof KisekiError ? `${err.code}: ${err.message}` : ((err as Error).stack ?? String(err));
  process.stderr.write(`mount.kiseki: ${msg}\n`);
  process.exit(err instanceof KisekiError ? 32 : 1);
});
