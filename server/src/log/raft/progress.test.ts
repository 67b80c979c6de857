import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Inflights, Progress } from './progress.ts';
import type { Index } from './types.ts';

const ix = (n: number) => n as Index;

describe('Inflights', () => {
  it('never holds more than inflight_entries_max entries, nor more bytes than inflight_bytes_max plus one message', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 500 }),
        fc.array(
          fc.oneof(fc.record({ send: fc.integer({ min: 1, max: 100 }) }), fc.record({ ack: fc.nat(5) })),
          {
            maxLength: 200,
          },
        ),
        (entriesMax, bytesMax, ops) => {
          const inf = new Inflights({ inflight_entries_max: entriesMax, inflight_bytes_max: bytesMax });
          let last = 0;
          let acked = 0;
          for (const op of ops) {
            if ('send' in op) {
              if (inf.full()) continue;
              const count = Math.min(1 + (op.send % 3), inf.entriesRoom());
              last += count;
              inf.add(ix(last), count, op.send);
            } else {
              acked = Math.min(last, acked + op.ack);
              inf.freeLE(ix(acked));
            }
            expect(inf.entries).toBeLessThanOrEqual(entriesMax);
            expect(inf.bytes).toBeLessThan(bytesMax + 100);
          }
        },
      ),
    );
  });

  it('adding to a full window is a bug and throws', () => {
    const inf = new Inflights({ inflight_entries_max: 2, inflight_bytes_max: 100 });
    inf.add(ix(2), 2, 10);
    expect(inf.full()).toBe(true);
    expect(() => inf.add(ix(3), 1, 10)).toThrow(/full/);
    inf.freeFirstOne();
    expect(inf.full()).toBe(false);
  });
});

describe('Progress', () => {
  const limits = { inflight_entries_max: 4, inflight_bytes_max: 1000 };

  it('probe: one append at a time; a stale rejection is ignored', () => {
    const pr = new Progress(ix(10), false, limits);
    expect(pr.isPaused()).toBe(false);
    pr.sentEntries(ix(10), 1, 5);
    expect(pr.isPaused()).toBe(true);
    expect(pr.maybeDecrTo(ix(5), ix(4))).toBe(false); // not the probe we sent (prev 9)
    expect(pr.maybeDecrTo(ix(9), ix(6))).toBe(true);
    expect(pr.next).toBe(7);
    expect(pr.isPaused()).toBe(false);
  });

  it('replicate: sends optimistically until the window is full; acks reopen it', () => {
    const pr = new Progress(ix(1), false, limits);
    pr.maybeUpdate(ix(0));
    pr.becomeReplicate();
    pr.sentEntries(ix(2), 2, 10);
    pr.sentEntries(ix(4), 2, 10);
    expect(pr.next).toBe(5);
    expect(pr.isPaused()).toBe(true);
    expect(pr.maybeUpdate(ix(2))).toBe(true);
    pr.inflights.freeLE(ix(2));
    expect(pr.isPaused()).toBe(false);
    // A rejection above match falls back to match + 1.
    expect(pr.maybeDecrTo(ix(4), ix(0))).toBe(true);
    expect(pr.next).toBe(3);
  });

  it('snapshot: paused until it leaves the state; probing resumes after the snapshot', () => {
    const pr = new Progress(ix(1), false, limits);
    pr.becomeSnapshot(ix(50));
    expect(pr.isPaused()).toBe(true);
    expect(() => pr.sentEntries(ix(51), 1, 1)).toThrow(/snapshot/);
    pr.becomeProbe();
    expect(pr.next).toBe(51);
  });
});
