/**
 * A separate client process for the lock tests: takes a write lock on a file and reports
 * "locked" on stdout, then holds it until killed.
 *   lock-holder.ts <server> <ca> <credential-file> <path>
 */
import { connect } from '@kiseki/client';

const [server, ca, credentialFile, path] = process.argv.slice(2);
if (!server || !ca || !credentialFile || !path) {
  process.stderr.write('usage: lock-holder.ts <server> <ca> <credential-file> <path>\n');
  process.exit(64);
}
const k = await connect({ server, ca, tenant: 'default', credentialFile });
const st = await k.fs.stat(path);
await k.client.locks.lock({ ino: st.ino, kind: 'posix', owner: 'holder', start: 0, length: 0 }, 'write');
process.stdout.write('locked\n');
setInterval(() => {}, 1 << 30); // hold until killed
