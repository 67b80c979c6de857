/**
 * The node's TLS identity. On first start a single node makes its own cluster CA and a node
 * certificate for 127.0.0.1/localhost with the system `openssl` (Node can parse certificates
 * but not issue them). Private keys are 0600 files under <home>/tls and never leave the node.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KisekiError } from '@kiseki/proto';

export interface TlsMaterial {
  readonly caCert: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly caPath: string;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT') {
      throw new KisekiError('KISEKI_E_UNAVAILABLE', 'openssl is not installed: apt-get install openssl');
    }
    throw new KisekiError(
      'KISEKI_E_INTERNAL',
      `openssl ${args[0]} failed: ${e.stderr?.toString().trim() ?? e.message}`,
    );
  }
}

export function ensureTls(home: string, hosts: readonly string[] = ['127.0.0.1', 'localhost']): TlsMaterial {
  const dir = join(home, 'tls');
  const caPath = join(dir, 'ca.crt');
  if (!existsSync(join(dir, 'node.crt'))) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    openssl(
      [
        'req',
        '-x509',
        ...ec,
        '-keyout',
        'ca.key',
        '-out',
        'ca.crt',
        '-days',
        '3650',
        '-subj',
        '/CN=kiseki cluster CA',
      ],
      dir,
    );
    openssl(['req', ...ec, '-keyout', 'node.key', '-out', 'node.csr', '-subj', '/CN=kiseki-node'], dir);
    const san = hosts.map((h) => (/^[\d.]+$/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
    writeFileSync(join(dir, 'san.ext'), `subjectAltName=${san}\n`);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        'node.csr',
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        'node.crt.tmp',
        '-days',
        '825',
        '-extfile',
        'san.ext',
      ],
      dir,
    );
    rmSync(join(dir, 'node.csr'));
    // node.crt appears last: its presence means the set is complete.
    execFileSync('mv', [join(dir, 'node.crt.tmp'), join(dir, 'node.crt')]);
  }
  return {
    caCert: readFileSync(caPath),
    cert: readFileSync(join(dir, 'node.crt')),
    key: readFileSync(join(dir, 'node.key')),
    caPath,
  };
}
