import { describe, expect, it } from 'vitest';
import { RwLock } from './rw-lock.ts';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('RwLock', () => {
  it('lets readers share, excludes writers, and queues later readers behind a waiting writer', async () => {
    const lock = new RwLock();
    const log: string[] = [];
    let releaseR1!: () => void;
    const r1 = lock.shared(async () => {
      log.push('r1+');
      await new Promise<void>((r) => {
        releaseR1 = r;
      });
      log.push('r1-');
    });
    const r2 = lock.shared(async () => {
      log.push('r2');
    });
    await tick();
    const w = lock.exclusive(async () => {
      log.push('w+');
      await tick();
      log.push('w-');
    });
    const r3 = lock.shared(async () => {
      log.push('r3');
    });
    await tick();
    expect(log).toEqual(['r1+', 'r2']); // writer waits for r1; r3 waits behind the writer
    releaseR1();
    await Promise.all([r1, r2, w, r3]);
    expect(log).toEqual(['r1+', 'r2', 'r1-', 'w+', 'w-', 'r3']);
  });

  it('releases the lock when the holder throws', async () => {
    const lock = new RwLock();
    await expect(lock.exclusive(async () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect(await lock.exclusive(async () => 1)).toBe(1);
  });
});
