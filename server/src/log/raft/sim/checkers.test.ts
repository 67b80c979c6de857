import { describe, expect, it } from 'vitest';
import { TestCluster, utf8 } from '../testing.ts';
import type { NodeId } from '../types.ts';
import { freshCheckState, SafetyChecker } from './checkers.ts';

// Each test builds two clusters that never talk, so that together they look like one cluster
// that broke a rule; the checker must say which.
const n = (id: number) => id as NodeId;

describe('simulator safety checkers', () => {
  it('I-L2: election safety — two leaders of one term are caught', () => {
    const a = new TestCluster([1, 2, 3]);
    const b = new TestCluster([1, 2, 3]);
    a.elect(1);
    b.elect(2);
    const c = new SafetyChecker();
    c.checkNode(a.node(1), freshCheckState());
    expect(() => c.checkNode(b.node(2), freshCheckState())).toThrow(
      /election safety: nodes 1 and 2 both lead term 1/,
    );
  });

  it('I-L1: log matching — two different entries with the same index and term are caught', () => {
    const a = new TestCluster([1, 2, 3]);
    const b = new TestCluster([1, 2, 3]);
    a.elect(1);
    b.elect(1);
    a.node(1).propose(utf8('a'));
    b.node(1).propose(utf8('b'));
    const c = new SafetyChecker();
    c.checkNode(a.node(1), freshCheckState());
    expect(() => c.checkNode(b.node(1), freshCheckState())).toThrow(/log matching/);
  });

  it('I-L2: leader completeness — a later leader without a committed entry is caught', () => {
    const a = new TestCluster([1, 2, 3]);
    a.elect(1);
    a.node(1).propose(utf8('committed'));
    a.stabilize();
    const c = new SafetyChecker();
    for (const id of [1, 2, 3]) c.checkNode(a.node(id), freshCheckState());
    expect(c.maxCommitted).toBe(2);
    // Elsewhere, node 3 leads term 2 with its own no-op at index 2.
    const b = new TestCluster([1, 2, 3]);
    b.elect(2);
    b.node(2).transferLeader(n(3));
    b.stabilize();
    expect(b.node(3).role).toBe('leader');
    expect(() => c.checkNode(b.node(3), freshCheckState())).toThrow(
      /leader completeness: node 3 leads term 2 with 2@2/,
    );
  });

  it('I-L3: commit stability and state-machine safety — a different entry or state at an applied index is caught', () => {
    const a = new TestCluster([1, 2, 3]);
    const b = new TestCluster([1, 2, 3]);
    a.elect(1);
    b.elect(1);
    a.node(1).propose(utf8('a'));
    b.node(1).propose(utf8('b'));
    a.stabilize();
    b.stabilize();
    const c = new SafetyChecker();
    const ea = a.applied.get(n(2))![1]!;
    const eb = b.applied.get(n(2))![1]!;
    c.applied(a.node(2), ea, '[["k","a"]]');
    expect(() => c.applied(b.node(2), eb, '[["k","b"]]')).toThrow(/commit stability/);
    const d = new SafetyChecker();
    d.applied(a.node(2), ea, '[["k","a"]]');
    expect(() => d.applied(a.node(3), ea, '[["k","x"]]')).toThrow(/state-machine safety/);
    expect(() => d.restored(a.node(3).id, ea.index, '[]')).toThrow(/state-machine safety/);
  });

  it('accepts a healthy cluster step after step', () => {
    const a = new TestCluster([1, 2, 3]);
    const c = new SafetyChecker();
    const st = new Map([1, 2, 3].map((id) => [id, freshCheckState()]));
    const checkAll = () => {
      for (const id of [1, 2, 3]) c.checkNode(a.node(id), st.get(id)!);
    };
    a.node(1).campaign();
    checkAll();
    a.stabilize();
    checkAll();
    for (let i = 0; i < 5; i++) {
      a.node(1).propose(utf8(`e${i}`));
      a.stabilize();
      checkAll();
    }
    a.node(1).transferLeader(n(2));
    a.stabilize();
    checkAll();
    a.node(2).propose(utf8('after'));
    a.stabilize();
    checkAll();
    expect(c.maxCommitted).toBe(8);
    expect(c.leaders.size).toBe(2);
  });
});
