/**
 * `kiseki device add|list|remove` against a running kiseki-server, on real loop devices: formatting
 * refuses a filesystem or an existing device unless forced, the list survives a restart with
 * each device's allocator recovered from its on-device bitmap (I-C8), and a device that went
 * away is listed as missing rather than dropped.
 */
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_BIN, cleanup, type ServerHandle, startServer, tempDir } from './harness.ts';

const execFileP = promisify(execFile);
const MiB = 1 << 20;

describe.runIf(process.getuid?.() === 0)('kiseki device add|list|remove (loop devices)', () => {
  let server: ServerHandle;
  let dir: string;
  const loops: string[] = [];
  const kiseki = (...args: string[]) =>
    execFileP(CLI_BIN, ['--home', server.home, '--server', server.address, ...args], { timeout: 120_000 });
  const failure = async (...args: string[]) => {
    try {
      await kiseki(...args);
    } catch (err) {
      return err as { code: number; stderr: string };
    }
    throw new Error(`kiseki ${args.join(' ')} succeeded`);
  };
  const loop = (size: number) => {
    const img = join(dir, `loop-${loops.length}.img`);
    execFileSync('truncate', ['-s', String(size), img]);
    const dev = execFileSync('losetup', ['-f', '--show', img], { encoding: 'utf8', timeout: 30_000 }).trim();
    loops.push(dev);
    return dev;
  };

  beforeAll(async () => {
    dir = tempDir('devices');
    server = await startServer({ deviceSizeBytes: 64 * MiB });
  });
  afterAll(async () => {
    await server?.stop();
    for (const l of loops) execFileSync('losetup', ['-d', l], { timeout: 30_000 });
    cleanup(dir);
    if (server) cleanup(server.home);
  });

  it('adds formatted devices, refuses filesystems and duplicates, lists them across a restart', async () => {
    const a = loop(64 * MiB);
    const b = loop(32 * MiB);
    execFileSync('mkfs.ext4', ['-q', '-F', b], { timeout: 60_000 });

    const added = await kiseki('device', 'add', a);
    expect(added.stdout).toMatch(new RegExp(`${a}: device [0-9a-f-]{36} added`));
    const refused = await failure('device', 'add', b);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/holds an ext2\/3\/4 filesystem; refusing to format it/);
    expect((await failure('device', 'add', a)).stderr).toMatch(/already a device of this node/);
    await kiseki('device', 'add', b, '--force', '--class', 'hdd');
    expect((await failure('device', 'add', 'relative/../x')).stderr).toMatch(/no such file|not/);
    const own = join(server.home, 'devices', 'dev0.img');
    expect((await failure('device', 'add', own, '--force')).stderr).toMatch(/in use by this node/);

    const list = JSON.parse((await kiseki('device', 'list', '--json')).stdout) as Array<
      Record<string, unknown>
    >;
    expect(list.map((d) => [d.path, d.state, d.deviceClass, d.kind, d.capacity])).toEqual([
      [a, 'active', 'ssd', 'block', 'ok'],
      [b, 'active', 'hdd', 'block', 'ok'],
    ]);
    expect(list[0]!.capacityBytes).toBeGreaterThan(60 * MiB);

    await server.stop();
    await server.restart();
    const table = (await kiseki('device', 'list')).stdout;
    expect(table).toMatch(new RegExp(`active\\s+ssd.*${a}`));
    expect(table).toMatch(new RegExp(`active\\s+hdd.*${b}`));

    // A device gone behind the server's back shows up as missing after a restart.
    await server.stop();
    execFileSync('losetup', ['-d', b], { timeout: 30_000 });
    loops.pop();
    await server.restart();
    const after = JSON.parse((await kiseki('device', 'list', '--json')).stdout) as Array<
      Record<string, unknown>
    >;
    expect(after.map((d) => [d.path, d.state])).toEqual([
      [a, 'active'],
      [b, 'missing'],
    ]);
    expect(after[1]!.error).toBeTruthy();

    // remove: a missing device can be forgotten, an empty one unregistered; unknown is NOENT.
    expect((await kiseki('device', 'remove', b)).stdout).toMatch(/removed/);
    expect((await kiseki('device', 'remove', String(after[0]!.deviceUuid))).stdout).toMatch(/removed/);
    expect(JSON.parse((await kiseki('device', 'list', '--json')).stdout)).toEqual([]);
    expect((await failure('device', 'remove', a)).stderr).toMatch(/is not a device of this node/);
    await server.stop();
    await server.restart();
    expect(JSON.parse((await kiseki('device', 'list', '--json')).stdout)).toEqual([]);
  });
});
