/**
 * kiseki-kms: the node-local half of `kiseki kms …` and `kiseki tenant create --kms …`. Works on
 * a node's home directory beside a running kiseki-server, which picks up a saved config on its
 * next key lookup for that tenant.
 *
 *   kiseki-kms configure --home DIR --tenant NAME   config JSON on stdin (secrets never in argv)
 *   kiseki-kms test      --home DIR --tenant NAME   health + data-key round trip, as JSON
 *   kiseki-kms show      --home DIR --tenant NAME   the saved config, secrets redacted
 *   kiseki-kms migrate   --home DIR --tenant NAME   move to the KMS whose config is on stdin,
 *                                                   re-wrapping every epoch (no downtime)
 *   kiseki-kms rotate    --home DIR --tenant NAME   add a data-key epoch (I-K6)
 *   kiseki-kms status    --home DIR --tenant NAME   epochs and the provider that wrapped each
 *   kiseki-kms shred     --home DIR --tenant NAME   crypto-shred: mark, then destroy the KEK
 *   kiseki-kms audit     --home DIR --tenant NAME   the tenant's key audit trail and its chain check
 *
 * Prints one JSON object on stdout; on failure prints `kiseki-kms: CODE: message` on stderr and
 * exits 1. Never prints a secret or key.
 */
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { KisekiError } from '@kiseki/proto';
import { audited, readAudit, verifyAudit } from './audit.ts';
import { addEpoch, isShredded, listEpochs, shredTenant } from './epochs.ts';
import { KMS_CONFIG_BYTES_MAX, parseKmsConfig, redactKmsConfig } from './kms-config.ts';
import { KmsRegistry } from './registry.ts';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of process.stdin) {
    size += (c as Buffer).length;
    if (size > KMS_CONFIG_BYTES_MAX)
      throw new KisekiError('KISEKI_E_INVAL', 'KMS config on stdin is too large');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { home: { type: 'string' }, tenant: { type: 'string' }, 'timeout-ms': { type: 'string' } },
  });
  const [cmd] = positionals;
  if (
    !values.home ||
    !values.tenant ||
    !['configure', 'test', 'show', 'migrate', 'rotate', 'status', 'shred', 'audit'].includes(cmd ?? '')
  ) {
    process.stderr.write(
      'usage: kiseki-kms configure|test|show|migrate|rotate|status|shred|audit --home DIR --tenant NAME\n',
    );
    return 2;
  }
  const home = resolve(values.home);
  const keysDir = join(home, 'keys');
  const actor = `admin:${userInfo().username}`;
  const registry = new KmsRegistry({ dir: keysDir, internalDir: join(home, 'kms') });
  const signal = AbortSignal.timeout(Number(values['timeout-ms'] ?? 60_000));
  try {
    let out: unknown;
    if (cmd === 'configure')
      out = await registry.configure(values.tenant, parseKmsConfig(await readStdin()), { signal, actor });
    else if (cmd === 'migrate') {
      out = await registry.migrate(values.tenant, parseKmsConfig(await readStdin()), {
        signal,
        actor,
        onProgress: (done, total) => process.stderr.write(`kiseki-kms: re-wrapped ${done}/${total} epochs\n`),
      });
    } else if (cmd === 'rotate') {
      const provider = registry.providerFor(values.tenant);
      const epoch = await audited(
        keysDir,
        values.tenant,
        { op: 'key.rotate', actor, kms: provider.kind },
        () => addEpoch(keysDir, values.tenant!, provider),
        (e) => e,
      );
      out = { tenant: values.tenant, epoch };
    } else if (cmd === 'shred') {
      const provider = registry.providerFor(values.tenant);
      await audited(keysDir, values.tenant, { op: 'tenant.shred', actor, kms: provider.kind }, () =>
        shredTenant(keysDir, values.tenant!, provider),
      );
      out = { tenant: values.tenant, shredded: true };
    } else if (cmd === 'audit') {
      const records = readAudit(keysDir, values.tenant);
      out = { tenant: values.tenant, chain: verifyAudit(records), records };
    } else if (cmd === 'status') {
      const epochs = listEpochs(keysDir, values.tenant);
      if (epochs.length === 0) throw new KisekiError('KISEKI_E_NOENT', `tenant ${values.tenant} has no keys`);
      out = {
        tenant: values.tenant,
        kms: registry.providerFor(values.tenant).kind,
        shredded: isShredded(keysDir, values.tenant),
        currentEpoch: epochs.at(-1)!.epoch,
        epochs,
      };
    } else if (cmd === 'test') out = await registry.test(values.tenant, { signal });
    else {
      const cfg = registry.readConfig(values.tenant);
      out = { tenant: values.tenant, config: cfg ? redactKmsConfig(cfg) : { kind: 'internal' } };
    }
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return (out as { error?: string }).error ? 1 : 0;
  } catch (err) {
    const code = err instanceof KisekiError ? err.code : 'KISEKI_E_INTERNAL';
    process.stderr.write(`kiseki-kms: ${code}: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await registry.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (rc) => process.exit(rc),
    (err) => {
      process.stderr.write(`kiseki-kms: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
