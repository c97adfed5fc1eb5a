import { host, ID, request } from '../test-utils/hosts';
import { RoundRobinPolicy } from './round-robin.policy';

describe('RoundRobinPolicy', () => {
  const p = new RoundRobinPolicy();
  const hosts = [host({ id: ID(3), name: 'c' }), host({ id: ID(1), name: 'a' }), host({ id: ID(2), name: 'b' })];
  const order = (cursor: string | null) => p.rank(hosts, request(), cursor).map((r) => r.host.name);

  it('starts with the lowest host id without a cursor', () => {
    expect(order(null)).toEqual(['a', 'b', 'c']);
  });

  it('starts after the last placed host and wraps around', () => {
    expect(order(ID(1))).toEqual(['b', 'c', 'a']);
    expect(order(ID(3))).toEqual(['a', 'b', 'c']);
  });

  it('continues correctly when the last placed host no longer passes the filters', () => {
    const withoutB = hosts.filter((h) => h.name !== 'b');
    expect(p.rank(withoutB, request(), ID(2)).map((r) => r.host.name)).toEqual(['c', 'a']);
  });

  it('rotates across successive placements', () => {
    let cursor: string | null = null;
    const picks: string[] = [];
    for (let i = 0; i < 5; i++) {
      const first = p.rank(hosts, request(), cursor)[0].host;
      picks.push(first.name);
      cursor = p.nextCursor(first);
    }
    expect(picks).toEqual(['a', 'b', 'c', 'a', 'b']);
  });

  it('says why each host is where it is', () => {
    const ranked = p.rank(hosts, request(), null);
    expect(ranked[0].reason).toBe(`round-robin: host a (${ID(1)}) is next of 3 hosts that passed all filters`);
    expect(ranked[1].reason).toContain('choice 2 of 3');
  });
});
