/** One server per home directory: a pid lock file, taken over only from a dead process. */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KisekiError } from '@kiseki/proto';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function lockHome(home: string): () => void {
  const path = join(home, 'server.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o644 });
      return () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new KisekiError(
          'KISEKI_E_BUSY',
          `another kiseki-server (pid ${pid}) is using ${home}; stop it first`,
        );
      }
      rmSync(path, { force: true }); // stale: its process is gone
    }
  }
  throw new KisekiError('KISEKI_E_BUSY', `could not lock ${home}`);
}
