import { describe, expect, it } from 'vitest';
import { RaftNode } from './raft-node.ts';
import { MemoryRaftStorage } from './storage.ts';
import { summarizeAll as s, TestCluster, utf8 } from './testing.ts';
import type { Message, NodeId } from './types.ts';

const to = (id: number) => (m: Message) => m.to === id;
const n = (id: number) => id as NodeId;

describe('RaftNode: election', () => {
  it('I-L1: campaign node 1 with pre-vote, deliver, and it leads term 1 with a no-op at index 1', () => {
    const c = new TestCluster([1, 2, 3]);
    c.node(1).campaign();
    expect(c.node(1).role).toBe('pre-candidate');
    expect(c.node(1).term).toBe(0); // a pre-vote changes no term
    let msgs = c.flush(1);
    expect(s(msgs)).toEqual(['1→2 vote-request t1 pre last=0@0', '1→3 vote-request t1 pre last=0@0']);

    msgs = c.deliver(msgs);
    expect(s(msgs)).toEqual(['2→1 vote-response t1 pre granted', '3→1 vote-response t1 pre granted']);
    expect(c.node(2).term).toBe(0);
    expect(c.storages.get(n(2))!.hardState()).toEqual({ term: 0, vote: 0, commit: 0 });

    msgs = c.deliver(msgs);
    expect(c.node(1).role).toBe('candidate');
    expect(c.storages.get(n(1))!.hardState()).toEqual({ term: 1, vote: 1, commit: 0 });
    expect(s(msgs)).toEqual(['1→2 vote-request t1 last=0@0', '1→3 vote-request t1 last=0@0']);

    msgs = c.deliver(msgs);
    expect(s(msgs)).toEqual(['2→1 vote-response t1 granted', '3→1 vote-response t1 granted']);
    // The vote is durable before the response leaves.
    expect(c.storages.get(n(2))!.hardState()).toEqual({ term: 1, vote: 1, commit: 0 });

    msgs = c.deliver(msgs);
    expect(c.node(1).role).toBe('leader');
    expect(s(msgs)).toEqual([
      '1→2 append t1 prev=0@0 entries=[1@1] commit=0',
      '1→3 append t1 prev=0@0 entries=[1@1] commit=0',
    ]);
    msgs = c.deliver(msgs);
    expect(s(msgs)).toEqual(['2→1 append-response t1 index=1', '3→1 append-response t1 index=1']);
    msgs = c.deliver(msgs);
    expect(c.node(1).committed).toBe(1);
    expect(s(msgs)).toEqual([
      '1→2 append t1 prev=1@1 entries=[] commit=1',
      '1→3 append t1 prev=1@1 entries=[] commit=1',
    ]);
    c.deliver(msgs);
    expect([c.node(2).committed, c.node(3).committed]).toEqual([1, 1]);
  });

  it('I-L2: a node that loses the pre-vote keeps its term, so a partitioned node cannot disrupt on return', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    // Node 3 is cut off, times out and pre-votes over and over without raising its term.
    for (let round = 0; round < 5; round++) {
      c.tick(3, 19);
      const msgs = c.flush(3);
      expect(s(msgs)).toEqual(['3→1 vote-request t2 pre last=1@1', '3→2 vote-request t2 pre last=1@1']);
      expect(c.node(3).term).toBe(1);
    }
    // Healed: nodes 1 and 2 are in the leader's lease and ignore the pre-vote; node 3 rejoins.
    c.node(3).campaign();
    const replies = c.deliver(c.flush(3));
    expect(replies).toEqual([]);
    c.tick(1);
    c.stabilize();
    expect(c.node(3).role).toBe('follower');
    expect(c.node(3).leader).toBe(1);
    expect(c.node(1).term).toBe(1);
  });

  it('I-L2: check-quorum — a leader that hears from no majority for election_ticks steps down', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.tick(1, 9);
    c.flush(1); // heartbeats are lost
    expect(c.node(1).role).toBe('leader');
    c.tick(1, 1);
    expect(c.node(1).role).toBe('follower');
    expect(c.node(1).leader).toBe(0);
    expect(c.node(1).term).toBe(1);
  });

  it('I-L2: a vote is granted once per term; a stale log does not win (§5.4.1)', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    expect(c.node(1).propose(utf8('a')).ok).toBe(true);
    // Only node 2 gets the entry.
    c.stabilize((m) => m.to !== 3 && m.from !== 3);
    expect(c.node(1).committed).toBe(2);
    // Leader 1 dies; node 3 (log ends at 1@1) campaigns: node 2 (log 2@1) refuses even the pre-vote.
    c.tick(2, 10); // out of the lease
    c.node(3).campaign();
    const replies = c.deliver(c.flush(3).filter(to(2)));
    expect(s(replies)).toEqual(['2→3 vote-response t1 pre rejected']);
    expect(c.node(2).status().vote).toBe(1);
    c.deliver(replies);
    expect(c.node(3).role).toBe('pre-candidate');
  });

  it('I-L2: a voter grants one vote per term, and remembers it across a restart', () => {
    const c = new TestCluster([1, 2, 3]);
    const ask = (from: number) =>
      c.node(3).step({
        type: 'vote-request',
        from: n(from),
        to: n(3),
        term: 1 as never,
        pre: false,
        lastIndex: 0 as never,
        lastTerm: 0 as never,
        transfer: false,
      });
    ask(1);
    expect(s(c.flush(3))).toEqual(['3→1 vote-response t1 granted']);
    ask(2);
    expect(s(c.flush(3))).toEqual(['3→2 vote-response t1 rejected']);
    ask(1); // a retransmitted request from the same candidate is granted again
    expect(s(c.flush(3))).toEqual(['3→1 vote-response t1 granted']);
    c.restart(3);
    ask(2);
    expect(s(c.flush(3))).toEqual(['3→2 vote-response t1 rejected']);
  });

  it('I-L2: a candidate that learns of a leader of its term becomes its follower', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.node(2).tick(); // node 2 knows leader 1
    // Node 3 is a pre-candidate when leader 1's heartbeat arrives.
    c.tick(3, 19);
    expect(c.node(3).role).toBe('pre-candidate');
    c.flush(3);
    c.tick(1);
    c.deliver(c.flush(1).filter(to(3)));
    expect(c.node(3).role).toBe('follower');
    expect(c.node(3).leader).toBe(1);
  });

  it('I-L2: the election timeout is randomized from the injected RNG', () => {
    const ticksToCampaign = (r: number) => {
      const node = new RaftNode({
        id: n(1),
        storage: new MemoryRaftStorage({ voters: [n(1), n(2)], learners: [] }),
        random_int: (k) => Math.min(r, k - 1),
        election_ticks: 10,
      });
      let t = 0;
      while (node.role === 'follower') {
        node.tick();
        t++;
      }
      return t;
    };
    expect(ticksToCampaign(0)).toBe(10);
    expect(ticksToCampaign(7)).toBe(17);
    expect(ticksToCampaign(9)).toBe(19);
  });

  it('single voter elects itself and commits by itself', () => {
    const c = new TestCluster([1]);
    c.node(1).campaign();
    expect(c.node(1).role).toBe('leader');
    expect(c.node(1).propose(utf8('x'))).toEqual({ ok: true, index: 2, term: 1 });
    expect(c.node(1).committed).toBe(2);
    c.flush(1);
    expect(c.appliedData(1)).toEqual(['x']);
  });
});

describe('RaftNode: replication and commit', () => {
  it('I-L2: an entry commits once a majority has persisted it, and only then is applied', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    expect(c.node(1).propose(utf8('d1'))).toEqual({ ok: true, index: 2, term: 1 });
    let msgs = c.flush(1);
    expect(s(msgs)).toEqual([
      '1→2 append t1 prev=1@1 entries=[2@1] commit=1',
      '1→3 append t1 prev=1@1 entries=[2@1] commit=1',
    ]);
    expect(c.storages.get(n(1))!.lastIndex()).toBe(2); // leader persisted before sending
    expect(c.appliedData(1)).toEqual([]);
    // Node 2 acks; node 3's copy is lost.
    msgs = c.deliver(msgs.filter(to(2)));
    expect(s(msgs)).toEqual(['2→1 append-response t1 index=2']);
    expect(c.storages.get(n(2))!.lastIndex()).toBe(2);
    msgs = c.deliver(msgs);
    expect(c.node(1).committed).toBe(2);
    expect(c.appliedData(1)).toEqual(['d1']);
    // The new commit index goes out to everyone (node 3's copy of entry 2 is still "in flight").
    expect(s(msgs)).toEqual([
      '1→2 append t1 prev=2@1 entries=[] commit=2',
      '1→3 append t1 prev=2@1 entries=[] commit=2',
    ]);
  });

  it('I-L3: a follower with a conflicting uncommitted suffix is rolled back to the leader’s log', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    // Leader 1 appends two entries nobody else gets, then is cut off.
    c.node(1).propose(utf8('lost-1'));
    c.node(1).propose(utf8('lost-2'));
    c.flush(1);
    // Node 2 leads term 2 and commits its own entry with node 3.
    c.tick(2, 10);
    c.tick(3, 10);
    c.node(2).campaign();
    c.stabilize((m) => m.to !== 1 && m.from !== 1);
    expect(c.node(2).role).toBe('leader');
    c.node(2).propose(utf8('kept'));
    c.stabilize((m) => m.to !== 1 && m.from !== 1);
    // Heal. Node 1 learns term 2 and its entries 2..3 (term 1) are replaced.
    c.tick(2);
    c.stabilize();
    expect(c.node(1).role).toBe('follower');
    expect(
      c
        .node(1)
        .entries(2 as never, 4 as never)
        .map((e) => `${e.index}@${e.term}`),
    ).toEqual(['2@2', '3@2']);
    expect(c.appliedData(1)).toEqual(['kept']);
  });

  it('I-L3: a follower commits only up to the last entry the leader sent, never its own stale tail', () => {
    const c = new TestCluster([1, 2, 3]);
    const f = c.node(2);
    const e = (index: number, t: number) =>
      Object.freeze({
        index: index as never,
        term: t as never,
        type: 'normal' as const,
        data: utf8(`${index}@${t}`),
      });
    const append = (
      from: number,
      t: number,
      prev: [number, number],
      entries: ReturnType<typeof e>[],
      commit: number,
    ) =>
      f.step({
        type: 'append',
        from: n(from),
        to: n(2),
        term: t as never,
        prevIndex: prev[0] as never,
        prevTerm: prev[1] as never,
        entries,
        commit: commit as never,
      });
    // Node 2's log: 1@1, 2@3, then 3@4 from a leader of term 4 that was deposed before committing it.
    append(1, 1, [0, 0], [e(1, 1)], 1);
    append(3, 3, [1, 1], [e(2, 3)], 1);
    append(1, 4, [2, 3], [e(3, 4)], 1);
    c.flush(2);
    // The leader of term 5 has 1@1, 2@3, 3@5 with 3 committed; flow control split its append.
    append(3, 5, [1, 1], [e(2, 3)], 3);
    expect(s(c.flush(2))).toEqual(['2→3 append-response t5 index=2']);
    expect(f.committed).toBe(2); // not 3: our 3@4 is not the leader's 3@5
    expect(f.termAt(3 as never)).toBe(4);
    append(3, 5, [2, 3], [e(3, 5)], 3);
    c.flush(2);
    expect(f.committed).toBe(3);
    expect(f.termAt(3 as never)).toBe(5);
  });

  it('I-L2: the leader backs up over a whole term per rejection (fast backtracking)', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    for (let i = 0; i < 5; i++) c.node(1).propose(utf8(`t1-${i}`));
    c.flush(1); // nobody gets 2@1 … 6@1
    const cut1 = (m: { to: NodeId; from: NodeId }) => m.to !== 1 && m.from !== 1;
    // Without node 1: node 2 leads term 2 and commits 2@2, 3@2, 4@2; then hands over to node 3,
    // which leads term 3 with its no-op at 5@3.
    c.tick(2, 10);
    c.tick(3, 10);
    c.node(2).campaign();
    c.stabilize(cut1);
    c.node(2).propose(utf8('a'));
    c.node(2).propose(utf8('b'));
    c.stabilize(cut1);
    c.node(2).transferLeader(n(3));
    c.stabilize(cut1);
    expect(c.node(3).role).toBe('leader');
    expect(c.node(3).term).toBe(3);
    // Heal. Leader 3 probes node 1 at its own last index: prev=4@2. Node 1 (1@1 … 6@1) rejects and
    // hints 4@1; the leader skips every entry of term 2 it has above its last entry of term ≤ 1.
    c.tick(3);
    const resp = c.deliver(c.flush(3).filter(to(1)));
    expect(s(resp)).toEqual(['1→3 heartbeat-response t3']);
    const probe = c.deliver(resp);
    expect(s(probe)).toEqual(['3→1 append t3 prev=4@2 entries=[5@3] commit=5']);
    const reject = c.deliver(probe);
    expect(s(reject)).toEqual(['1→3 append-response t3 reject=4 hint=4@1']);
    const fix = c.deliver(reject);
    expect(s(fix)).toEqual(['3→1 append t3 prev=1@1 entries=[2@2,3@2,4@2,5@3] commit=5']);
    expect(s(c.deliver(fix))).toEqual(['1→3 append-response t3 index=5']);
    expect(c.node(1).lastIndex()).toBe(5);
    expect(c.node(1).committed).toBe(5);
  });

  it('I-L2: only entries of the current term commit by counting replicas (Raft §5.4.2, figure 8)', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.node(1).propose(utf8('x')); // 2@1 on node 1 only
    c.flush(1);
    c.tick(1, 10); // check-quorum: nobody answered, node 1 steps down
    expect(c.node(1).role).toBe('follower');
    c.flush(1); // its heartbeats are lost
    // Node 1 wins term 2 with node 2's votes (its log 2@1 is the longer one).
    c.tick(2, 10);
    c.node(1).campaign();
    let msgs = c.deliver(c.flush(1).filter(to(2))); // pre-vote granted
    msgs = c.deliver(c.deliver(msgs).filter(to(2))); // vote granted
    msgs = c.deliver(msgs);
    expect(c.node(1).role).toBe('leader');
    expect(c.node(1).term).toBe(2);
    const app = msgs.filter(to(2));
    expect(s(app)).toEqual(['1→2 append t2 prev=2@1 entries=[3@2] commit=1']);
    const rej = c.deliver(app);
    expect(s(rej)).toEqual(['2→1 append-response t2 reject=2 hint=1@1']);
    const full = c.deliver(rej);
    expect(s(full)).toEqual(['1→2 append t2 prev=1@1 entries=[2@1,3@2] commit=1']);
    // An ack of index 2 alone puts 2@1 on a majority {1, 2}: still not committed, as it is of term 1.
    c.node(1).step({
      type: 'append-response',
      from: n(2),
      to: n(1),
      term: 2 as never,
      index: 2 as never,
      reject: false,
      hintIndex: 0 as never,
      hintTerm: 0 as never,
    });
    expect(c.node(1).committed).toBe(1);
    // Once the term-2 no-op is on a majority, both commit.
    c.deliver(c.deliver(full));
    expect(c.node(1).committed).toBe(3);
  });
});

describe('RaftNode: flow control', () => {
  it('in replicate state at most inflight_entries_max entries are unacknowledged; acks reopen the window', () => {
    const c = new TestCluster([1, 2], { inflight_entries_max: 4, msg_bytes_max: 1 << 20 });
    c.elect(1);
    for (let i = 0; i < 10; i++) {
      c.node(1).propose(utf8(`e${i}`));
    }
    const msgs = c.flush(1);
    const entries = msgs.flatMap((m) => (m.type === 'append' ? m.entries.map((e) => e.index) : []));
    expect(entries).toEqual([2, 3, 4, 5]);
    expect(c.node(1).status().progress.get(n(2))!.inflightEntries).toBe(4);
    // Ack the first message: the window refills.
    const acks = c.deliver(msgs.slice(0, 1));
    const more = c.deliver(acks);
    const next = more.flatMap((m) => (m.type === 'append' ? m.entries.map((e) => e.index) : []));
    expect(next[0]).toBe(6);
    expect(c.node(1).status().progress.get(n(2))!.inflightEntries).toBeLessThanOrEqual(4);
    c.stabilize(undefined, [...msgs.slice(1), ...more]);
    expect(c.node(2).committed).toBe(11);
  });

  it('in-flight bytes stop at inflight_bytes_max (a message may overshoot by one entry)', () => {
    const c = new TestCluster([1, 2], { inflight_bytes_max: 250, msg_bytes_max: 100 });
    c.elect(1);
    for (let i = 0; i < 10; i++) c.node(1).propose(new Uint8Array(60));
    const msgs = c.flush(1);
    const sizes = msgs.map((m) =>
      m.type === 'append' ? m.entries.reduce((a, e) => a + e.data.byteLength, 0) : 0,
    );
    // 60 | 60 | 60 | 60 (each message ≤ msg_bytes_max), stopping once ≥ 250 are in flight.
    expect(sizes).toEqual([60, 60, 60, 60, 60]);
    const bytes = c.node(1).status().progress.get(n(2))!.inflightBytes;
    expect(bytes).toBe(300);
    expect(bytes).toBeLessThan(250 + 60);
  });

  it('a follower in probe state gets one append until it answers', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.tick(1, 1);
    // Make node 3 unreachable: it falls back to probe.
    c.node(1).reportUnreachable(n(3));
    c.flushAll();
    c.node(1).propose(utf8('a'));
    c.node(1).propose(utf8('b'));
    const msgs = c.flush(1).filter(to(3));
    expect(s(msgs)).toEqual(['1→3 append t1 prev=1@1 entries=[2@1] commit=1']);
  });
});

describe('RaftNode: linearizable reads (read index)', () => {
  it('I-L1: a leader serves a read at its commit index only after a heartbeat quorum confirms it', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.node(1).propose(utf8('w'));
    c.stabilize();
    expect(c.node(1).readIndex('r1')).toEqual({ ok: true });
    const hb = c.flush(1);
    expect(s(hb)).toEqual(['1→2 heartbeat t1 commit=2 ctx=r1', '1→3 heartbeat t1 commit=2 ctx=r1']);
    expect(c.readStates.get(n(1))).toEqual([]);
    const resp = c.deliver(hb.filter(to(2)));
    expect(s(resp)).toEqual(['2→1 heartbeat-response t1 ctx=r1']);
    c.deliver(resp);
    c.flush(1);
    expect(c.readStates.get(n(1))).toEqual([{ index: 2, context: 'r1' }]);
  });

  it('I-L1: a follower forwards a read to the leader and gets the leader’s read index back', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.node(1).propose(utf8('w'));
    c.stabilize();
    expect(c.node(3).readIndex('f1')).toEqual({ ok: true });
    const fwd = c.flush(3);
    expect(s(fwd)).toEqual(['3→1 read-index t1 ctx=f1']);
    c.stabilize(undefined, fwd);
    expect(c.readStates.get(n(3))).toEqual([{ index: 2, context: 'f1' }]);
  });

  it('a leader refuses reads until it has committed an entry of its term; followers without a leader refuse', () => {
    const c = new TestCluster([1, 2, 3]);
    c.node(1).campaign();
    c.stabilize((m) => m.type !== 'append-response');
    expect(c.node(1).role).toBe('leader');
    expect(c.node(1).readIndex('r')).toEqual({ ok: false, refusal: 'leader-not-ready', leader: 0 });
    const fresh = new TestCluster([1, 2, 3]);
    expect(fresh.node(2).readIndex('r')).toEqual({ ok: false, refusal: 'not-leader', leader: 0 });
  });

  it('a deposed leader releases no pending reads', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.node(1).readIndex('r');
    c.flush(1); // heartbeats lost
    c.tick(1, 10); // check-quorum steps it down
    c.stabilize();
    expect(c.readStates.get(n(1))).toEqual([]);
  });
});

describe('RaftNode: snapshots', () => {
  it('I-L4: a follower behind the compaction point is sent the snapshot, restores it and catches up', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    // Node 3 is cut off while 5 entries commit.
    for (let i = 0; i < 5; i++) c.node(1).propose(utf8(`e${i}`));
    c.stabilize((m) => m.to !== 3 && m.from !== 3);
    const st1 = c.storages.get(n(1))!;
    expect(c.node(1).committed).toBe(6);
    st1.createSnapshot(5 as never, c.node(1).confStateAt(5 as never), utf8('state@5'));
    st1.compact(5 as never);
    // Heal: the leader's probe to node 3 needs index 2, compacted: it sends the snapshot.
    c.tick(1, 1);
    let msgs = c.flush(1).filter(to(3));
    msgs = c.deliver(msgs); // heartbeat → response
    msgs = c.deliver(msgs);
    expect(s(msgs)).toEqual(['1→3 append t1 prev=6@1 entries=[] commit=6']);
    msgs = c.deliver(msgs);
    expect(s(msgs)).toEqual(['3→1 append-response t1 reject=6 hint=1@1']);
    msgs = c.deliver(msgs);
    expect(s(msgs)).toEqual(['1→3 snapshot t1 snapshot=5@1']);
    expect(c.node(1).status().progress.get(n(3))!.state).toBe('snapshot');
    msgs = c.deliver(msgs);
    expect(s(msgs)).toEqual(['3→1 append-response t1 index=5']);
    expect(c.snapshotsApplied).toEqual([{ id: 3, index: 5 }]);
    expect(c.storages.get(n(3))!.snapshot().data).toEqual(utf8('state@5'));
    msgs = c.deliver(msgs);
    expect(s(msgs)).toEqual(['1→3 append t1 prev=5@1 entries=[6@1] commit=6']);
    c.stabilize(undefined, msgs);
    expect(c.node(3).committed).toBe(6);
    expect(c.appliedData(3)).toEqual(['e4']);
  });

  it('a snapshot that is lost is sent again after snapshot_retry_ticks', () => {
    const c = new TestCluster([1, 2, 3], { snapshot_retry_ticks: 5 });
    c.elect(1);
    for (let i = 0; i < 3; i++) c.node(1).propose(utf8(`e${i}`));
    c.stabilize((m) => m.to !== 3 && m.from !== 3);
    c.storages.get(n(1))!.createSnapshot(4 as never, c.node(1).confStateAt(4 as never), utf8('s'));
    c.storages.get(n(1))!.compact(4 as never);
    c.tick(1);
    c.stabilize((m) => m.type !== 'snapshot');
    expect(c.node(1).status().progress.get(n(3))!.state).toBe('snapshot');
    c.tick(1, 5);
    c.stabilize();
    expect(c.node(3).committed).toBe(4);
    expect(c.node(1).status().progress.get(n(3))!.state).toBe('replicate');
  });
});

describe('RaftNode: membership changes', () => {
  it('adds a learner, which replicates but neither votes nor counts, then promotes it', () => {
    const c = new TestCluster([1, 2, 3], {}, [4]);
    c.elect(1);
    expect(c.node(1).proposeConfChange({ kind: 'add-learner', node: n(4) })).toEqual({
      ok: true,
      index: 2,
      term: 1,
    });
    expect(c.node(1).conf).toEqual({ voters: [1, 2, 3], learners: [4] });
    // One change at a time.
    expect(c.node(1).proposeConfChange({ kind: 'add-learner', node: n(5) })).toMatchObject({
      ok: false,
      refusal: 'conf-change-pending',
    });
    c.stabilize();
    expect(c.node(4).conf).toEqual({ voters: [1, 2, 3], learners: [4] });
    expect(c.node(4).committed).toBe(2);
    // The learner never campaigns.
    c.tick(4, 50);
    expect(c.node(4).role).toBe('follower');
    expect(c.flush(4)).toEqual([]);
    // Promote: quorum becomes 3 of 4.
    expect(c.node(1).proposeConfChange({ kind: 'promote', node: n(4) }).ok).toBe(true);
    c.stabilize();
    expect(c.node(2).conf).toEqual({ voters: [1, 2, 3, 4], learners: [] });
    c.node(1).propose(utf8('needs-3-of-4'));
    c.stabilize((m) => m.to !== 3 && m.to !== 4);
    expect(c.node(1).committed).toBe(3); // only 1 and 2 have entry 4
    c.tick(1); // heartbeats reveal the lost appends
    c.stabilize();
    expect(c.node(1).committed).toBe(4);
  });

  it('refuses a change before the leader commits in its term, and one that breaks quorum', () => {
    const c = new TestCluster([1, 2, 3]);
    c.node(1).campaign();
    c.stabilize((m) => m.type !== 'append-response');
    expect(c.node(1).proposeConfChange({ kind: 'remove', node: n(3) })).toMatchObject({
      refusal: 'leader-not-ready',
    });
    c.stabilize();
    // Node 3 goes silent for an election timeout (heartbeats to it are lost; 2 answers).
    for (let i = 0; i < 10; i++) {
      c.tick(1);
      c.stabilize((m) => m.to !== 3 && m.from !== 3);
    }
    // Removing 2 would leave {1, 3} with 3 dead: refused.
    expect(c.node(1).proposeConfChange({ kind: 'remove', node: n(2) })).toMatchObject({
      refusal: 'conf-change-breaks-quorum',
    });
    // Removing the dead node 3 is fine.
    expect(c.node(1).proposeConfChange({ kind: 'remove', node: n(3) }).ok).toBe(true);
    expect(c.node(1).proposeConfChange({ kind: 'promote', node: n(2) })).toMatchObject({
      refusal: 'conf-change-pending',
    });
    c.stabilize((m) => m.to !== 3);
    expect(c.node(1).conf).toEqual({ voters: [1, 2], learners: [] });
    expect(c.node(1).proposeConfChange({ kind: 'promote', node: n(2) })).toMatchObject({
      refusal: 'conf-change-invalid',
    });
    expect(c.node(1).proposeConfChange({ kind: 'remove', node: n(3) })).toMatchObject({
      refusal: 'conf-change-invalid',
    });
  });

  it('a leader that removes itself keeps leading until the removal commits, then steps down', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.tick(1);
    c.stabilize();
    expect(c.node(1).proposeConfChange({ kind: 'remove', node: n(1) }).ok).toBe(true);
    expect(c.node(1).role).toBe('leader');
    expect(c.node(1).propose(utf8('x'))).toMatchObject({ ok: false, refusal: 'not-leader' });
    c.stabilize();
    expect(c.node(1).role).toBe('follower');
    expect(c.node(2).conf).toEqual({ voters: [2, 3], learners: [] });
    // The removed node never campaigns again; 2 or 3 takes over.
    c.tick(1, 100);
    expect(c.flush(1)).toEqual([]);
    c.tick(3, 10); // out of the old leader's lease
    c.node(2).campaign();
    c.stabilize();
    expect(c.node(2).role).toBe('leader');
  });

  it('a node whose uncommitted conf-change entry is truncated reverts to the previous configuration', () => {
    const c = new TestCluster([1, 2, 3], {}, [4]);
    c.elect(1);
    // Leader 1 appends "add learner 4" at index 2; nobody gets it; it is cut off and steps down.
    expect(c.node(1).proposeConfChange({ kind: 'add-learner', node: n(4) }).ok).toBe(true);
    c.flush(1);
    expect(c.node(1).conf).toEqual({ voters: [1, 2, 3], learners: [4] });
    c.tick(1, 10);
    expect(c.node(1).role).toBe('follower');
    // Nodes 2 and 3 elect 2 in term 2, which writes its no-op at index 2.
    c.tick(2, 10);
    c.tick(3, 10);
    c.node(2).campaign();
    c.stabilize((m) => m.to !== 1 && m.from !== 1);
    expect(c.node(2).role).toBe('leader');
    // Heal: node 1's 2@1 is replaced by 2@2, and with it the configuration it carried.
    c.tick(2);
    c.stabilize();
    expect(c.node(1).termAt(2 as never)).toBe(2);
    expect(c.node(1).conf).toEqual({ voters: [1, 2, 3], learners: [] });
    expect(c.node(1).confStateAt(2 as never)).toEqual({ voters: [1, 2, 3], learners: [] });
  });
});

describe('RaftNode: leader transfer', () => {
  it('TimeoutNow makes the caught-up target campaign at once, past the others’ leases', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    expect(c.node(1).transferLeader(n(2))).toEqual({ ok: true });
    expect(c.node(1).propose(utf8('x'))).toMatchObject({ ok: false, refusal: 'leader-transferring' });
    const msgs = c.flush(1);
    expect(s(msgs)).toEqual(['1→2 timeout-now t1']);
    const votes = c.deliver(msgs);
    expect(s(votes)).toEqual([
      '2→1 vote-request t2 transfer last=1@1',
      '2→3 vote-request t2 transfer last=1@1',
    ]);
    c.stabilize(undefined, votes);
    expect(c.node(2).role).toBe('leader');
    expect(c.node(1).role).toBe('follower');
    expect(c.node(2).term).toBe(2);
  });

  it('waits for a lagging target to catch up, and gives up after an election timeout', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.node(1).propose(utf8('x'));
    c.stabilize((m) => m.to !== 3 && m.from !== 3);
    c.node(1).transferLeader(n(3));
    // Entry 2 is already "in flight" to node 3 (replicate state), so it sends what follows.
    expect(s(c.flush(1))).toEqual(['1→3 append t1 prev=2@1 entries=[] commit=2']);
    for (let i = 0; i < 10; i++) {
      expect(c.node(1).status().leadTransferee).toBe(3);
      c.tick(1);
      c.stabilize((m) => m.to !== 3);
    }
    expect(c.node(1).role).toBe('leader');
    expect(c.node(1).status().leadTransferee).toBe(0);
    expect(c.node(1).propose(utf8('y')).ok).toBe(true);
  });
});

describe('RaftNode: Ready ordering and crashes', () => {
  it('I-L2: a vote whose hard state was not persisted was never sent, so a restart cannot vote twice', () => {
    const c = new TestCluster([1, 2, 3]);
    c.node(1).campaign();
    c.deliver(c.flush(1)); // pre-votes granted by 2 and 3 (responses dropped)
    // Node 2 gets a real vote request for term 1 from node 1…
    c.node(2).step({
      type: 'vote-request',
      from: n(1),
      to: n(2),
      term: 1 as never,
      pre: false,
      lastIndex: 0 as never,
      lastTerm: 0 as never,
      transfer: false,
    });
    const rd = c.node(2).ready();
    expect(rd.hardState).toEqual({ term: 1, vote: 1, commit: 0 });
    expect(s(rd.messages)).toEqual(['2→1 vote-response t1 granted']);
    // …and crashes before persisting: the message is never sent and the vote is not on disk.
    c.restart(2);
    expect(c.node(2).term).toBe(0);
    c.node(2).step({
      type: 'vote-request',
      from: n(3),
      to: n(2),
      term: 1 as never,
      pre: false,
      lastIndex: 0 as never,
      lastTerm: 0 as never,
      transfer: false,
    });
    expect(s(c.flush(2))).toEqual(['2→3 vote-response t1 granted']);
  });

  it('ready() twice without advance() is a bug and throws; so does advancing a different Ready', () => {
    const c = new TestCluster([1, 2, 3]);
    c.node(1).campaign();
    const rd = c.node(1).ready();
    expect(() => c.node(1).ready()).toThrow(/advance/);
    expect(c.node(1).hasReady()).toBe(false);
    expect(() => c.node(1).advance({ ...rd })).toThrow(/outstanding/);
    c.node(1).advance(rd);
  });

  it('a node keeps stepping while a Ready is outstanding; what it takes meanwhile comes in the next Ready', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.node(1).propose(utf8('a'));
    c.node(1).propose(utf8('b'));
    const app = c.flush(1).filter(to(2));
    expect(s(app)).toEqual([
      '1→2 append t1 prev=1@1 entries=[2@1] commit=1',
      '1→2 append t1 prev=2@1 entries=[3@1] commit=1',
    ]);
    const f = c.node(2);
    f.step(app[0]!);
    const rd = f.ready(); // entry 2, unpersisted
    expect(rd.entries.map((e) => e.index)).toEqual([2]);
    expect(s(rd.messages)).toEqual(['2→1 append-response t1 index=2']);
    f.step(app[1]!);
    f.step(app[0]!); // a duplicate changes nothing but is answered
    expect(f.hasReady()).toBe(false);
    c.storages.get(n(2))!.append(rd.entries);
    f.advance(rd);
    const rd2 = f.ready();
    expect(rd2.entries.map((e) => e.index)).toEqual([3]);
    expect(s(rd2.messages)).toEqual(['2→1 append-response t1 index=3', '2→1 append-response t1 index=2']);
    f.advance(rd2);
  });

  it('restart recovers term, vote, log and configuration from storage', () => {
    const c = new TestCluster([1, 2, 3], {}, [4]);
    c.elect(1);
    c.node(1).proposeConfChange({ kind: 'add-learner', node: n(4) });
    c.node(1).propose(utf8('x'));
    c.stabilize();
    const before = c.node(2).status();
    const r = c.restart(2);
    expect(r.term).toBe(before.term);
    expect(r.status().vote).toBe(before.vote);
    expect(r.lastIndex()).toBe(before.lastIndex);
    expect(r.committed).toBe(before.commit);
    expect(r.conf).toEqual({ voters: [1, 2, 3], learners: [4] });
    c.flush(2);
    expect(c.appliedData(2)).toEqual(['x']);
  });
});

describe('RaftNode: assertions', () => {
  it('I-L3: an append that would rewrite a committed entry is answered with the commit index and ignored', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.node(1).propose(utf8('a'));
    c.stabilize();
    expect(c.node(2).committed).toBe(2);
    c.node(2).step({
      type: 'append',
      from: n(1),
      to: n(2),
      term: 1 as never,
      prevIndex: 1 as never,
      prevTerm: 1 as never,
      entries: [{ index: 2 as never, term: 1 as never, type: 'normal', data: utf8('forged') }],
      commit: 2 as never,
    });
    expect(s(c.flush(2))).toEqual(['2→1 append-response t1 index=2']);
    expect(new TextDecoder().decode(c.node(2).entries(2 as never, 3 as never)[0]!.data)).toBe('a');
  });

  it('I-L2: two leaders in one term trip an assertion', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    expect(() =>
      c.node(2).step({
        type: 'heartbeat',
        from: n(3),
        to: n(2),
        term: 1 as never,
        commit: 0 as never,
        context: undefined,
      }),
    ).toThrow(/election safety/);
  });

  it('rejects options that cannot work', () => {
    const storage = new MemoryRaftStorage();
    expect(
      () => new RaftNode({ id: n(1), storage, random_int: () => 0, election_ticks: 3, heartbeat_ticks: 3 }),
    ).toThrow(/heartbeat_ticks/);
    expect(() => new RaftNode({ id: n(1), storage, random_int: () => 0, inflight_entries_max: 0 })).toThrow(
      /inflight_entries_max/,
    );
  });

  it('messages from a lower term get our term back so a stale leader steps down', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.tick(2, 10);
    c.tick(3, 10);
    c.node(2).campaign();
    c.stabilize((m) => m.to !== 1 && m.from !== 1);
    expect(c.node(2).term).toBe(2);
    c.tick(1);
    const hb = c.flush(1).filter(to(3));
    const back = c.deliver(hb);
    expect(s(back)).toEqual(['3→1 append-response t2 index=0']);
    c.deliver(back);
    expect(c.node(1).role).toBe('follower');
    expect(c.node(1).term).toBe(2);
  });
});
