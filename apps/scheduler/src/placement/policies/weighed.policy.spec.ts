import { host, ID, request } from '../test-utils/hosts';
import { leastLoadedPolicy, packPolicy, spreadPolicy } from './weighed.policy';
import { policiesFromEnv, defaultPolicyName } from './index';

describe('least-loaded', () => {
  const hosts = [
    host({ id: ID(1), name: 'busy', cpuPercent: 90, memoryPercent: 50, activeVms: 2 }),
    host({ id: ID(2), name: 'idle', cpuPercent: 10, memoryPercent: 20, activeVms: 0 }),
    host({ id: ID(3), name: 'mid', cpuPercent: 50, memoryPercent: 50, activeVms: 10 }),
  ];

  it('score = 0.5·cpu + 0.3·mem + 0.2·min(vms/10, 1); lowest wins, reason records the score', () => {
    const p = leastLoadedPolicy(undefined, 0.05, () => 0.9);
    const ranked = p.rank(hosts, request(), null);
    expect(ranked.map((r) => r.host.name)).toEqual(['idle', 'mid', 'busy']);
    expect(p.score(hosts[2], request())).toBeCloseTo(0.5 * 0.5 + 0.3 * 0.5 + 0.2 * 1);
    expect(ranked[0].reason).toBe(
      `least-loaded: host idle (${ID(2)}) ranked first of 3 hosts that passed all filters; score 0.110 = ` +
        '0.5×cpu (cpu 10 %) + 0.3×memory (memory 20 %) + 0.2×vms (0 vms), lowest wins (least loaded first)',
    );
  });

  it('when the two best are within 0.05, picks one of the two at random', () => {
    const close = [host({ id: ID(1), name: 'a', cpuPercent: 10 }), host({ id: ID(2), name: 'b', cpuPercent: 15 }), host({ id: ID(3), name: 'c', cpuPercent: 60 })];
    // a: 0.05, b: 0.075 (within 0.05): the random draw decides.
    expect(leastLoadedPolicy(undefined, 0.05, () => 0.9).rank(close, request(), null)[0].host.name).toBe('a');
    const swapped = leastLoadedPolicy(undefined, 0.05, () => 0.1).rank(close, request(), null);
    expect(swapped.map((r) => r.host.name)).toEqual(['b', 'a', 'c']);
    expect(swapped[0].reason).toContain('the two best were within 0.05, picked one at random');
    // Not within the window: never swapped.
    const far = [host({ id: ID(1), name: 'a', cpuPercent: 10 }), host({ id: ID(2), name: 'b', cpuPercent: 30 })];
    expect(leastLoadedPolicy(undefined, 0.05, () => 0.1).rank(far, request(), null)[0].host.name).toBe('a');
  });

  it('keeps only the best `limit` hosts', () => {
    expect(leastLoadedPolicy().rank(hosts, request(), null, 2)).toHaveLength(2);
  });
});

describe('pack and spread', () => {
  const hosts = [
    host({ id: ID(1), name: 'empty' }),
    host({ id: ID(2), name: 'half', allocatedMemoryMiB: 4096, activeVms: 2 }),
    host({ id: ID(3), name: 'nearly-full', allocatedMemoryMiB: 6144, activeVms: 3 }),
  ];

  it('pack fills hosts already in use first, fullest (best fit) first, empty hosts last', () => {
    expect(packPolicy().rank(hosts, request({ memoryMiB: 1024 }), null).map((r) => r.host.name)).toEqual(['nearly-full', 'half', 'empty']);
  });

  it('spread puts the VM where most capacity is free', () => {
    expect(spreadPolicy().rank(hosts, request({ memoryMiB: 1024 }), null).map((r) => r.host.name)).toEqual(['empty', 'half', 'nearly-full']);
  });

  it('weights are configurable per policy from the environment', () => {
    const all = policiesFromEnv({ SCHEDULER_WEIGHTS_PACK: 'fill=1' });
    expect(all.pack.rank(hosts, request({ memoryMiB: 1024 }), null)[0].host.name).toBe('nearly-full');
    expect(() => policiesFromEnv({ SCHEDULER_WEIGHTS_SPREAD: 'nope=1' })).toThrow(/unknown weigher/);
    expect(defaultPolicyName('pack')).toBe('pack');
    expect(() => defaultPolicyName('random')).toThrow(/unknown SCHEDULER_POLICY/);
  });
});
