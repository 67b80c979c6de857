/** Resolves once no process of group `pgid` is left (after a SIGKILL, npx exits before its node grandchild). */
export async function groupGone(pgid: number): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return; // ESRCH: no process left in the group
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`process group ${pgid} did not exit`);
}
