/**
 * A fresh SoftHSM2 token in a temp directory (Debian `softhsm2`): its own softhsm2.conf named by
 * SOFTHSM2_CONF, initialized with `softhsm2-util`. Set SOFTHSM2_CONF before the module is
 * initialized in this process.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SOFTHSM_LIBRARY = '/usr/lib/softhsm/libsofthsm2.so';

export interface SoftHsmToken {
  readonly library: string;
  readonly tokenLabel: string;
  readonly pin: string;
  readonly dir: string;
  readonly conf: string;
  /** Initializes another token in the same token directory; returns its label and PIN. */
  addToken(label: string): { tokenLabel: string; pin: string };
  cleanup(): void;
}

export function softHsmAvailable(): boolean {
  return existsSync(SOFTHSM_LIBRARY) && existsSync('/usr/bin/softhsm2-util');
}

export function createSoftHsmToken(label = 'kiseki-test'): SoftHsmToken {
  const dir = mkdtempSync(join(tmpdir(), 'kiseki-softhsm-'));
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens);
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const pin = '24681357';
  const init = (l: string) =>
    execFileSync(
      '/usr/bin/softhsm2-util',
      ['--init-token', '--free', '--label', l, '--pin', pin, '--so-pin', '97531864'],
      {
        env: { ...process.env, SOFTHSM2_CONF: conf },
        stdio: 'pipe',
      },
    );
  init(label);
  return {
    addToken: (l) => {
      init(l);
      return { tokenLabel: l, pin };
    },
    library: SOFTHSM_LIBRARY,
    tokenLabel: label,
    pin,
    dir,
    conf,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
