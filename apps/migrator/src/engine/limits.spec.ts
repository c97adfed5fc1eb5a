import { admit, completionTimeoutMs } from './limits';

const m = (id: string, s: string, t: string) => ({ id, sourceHostId: s, targetHostId: t });

describe('admit: concurrent migration limits', () => {
  it('at most K per host (source or target) and M in the cluster, oldest first', () => {
    const waiting = [m('1', 'a', 'b'), m('2', 'a', 'c'), m('3', 'a', 'd'), m('4', 'e', 'f'), m('5', 'g', 'h'), m('6', 'i', 'j')];
    expect(admit(waiting, [], { maxPerHost: 2, maxInCluster: 5 }).map((x) => x.id)).toEqual(['1', '2', '4', '5', '6']);
  });
  it('running migrations count against both limits', () => {
    const running = [m('r1', 'a', 'b'), m('r2', 'c', 'a')];
    const waiting = [m('1', 'a', 'd'), m('2', 'b', 'e'), m('3', 'f', 'g')];
    expect(admit(waiting, running, { maxPerHost: 2, maxInCluster: 3 }).map((x) => x.id)).toEqual(['2']);
  });
  it('a full cluster admits nothing', () => {
    expect(admit([m('1', 'x', 'y')], [m('r', 'a', 'b')], { maxPerHost: 2, maxInCluster: 1 })).toEqual([]);
  });
});

describe('completionTimeoutMs', () => {
  it('scales with guest memory', () => {
    expect(completionTimeoutMs(256, 60, 240)).toBe(120_000);
    expect(completionTimeoutMs(4096, 60, 240)).toBe(1_020_000);
  });
});
