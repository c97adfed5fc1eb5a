import { DecisionStats } from './decision-stats';

describe('DecisionStats', () => {
  it('keeps the in-replica and the attempt clocks apart', () => {
    const s = new DecisionStats();
    for (let i = 1; i <= 100; i++) s.record(100 + i, i); // waited ~100 ms for the batch, decided in i ms
    const r = s.summary();
    expect(r.count).toBe(100);
    expect(r.p50).toBe(151);
    expect(r.p99).toBe(200);
    expect(r.attempt).toEqual({ p50: 51, p90: 91, p99: 100, max: 100 });
  });

  it('counts a placement with nothing waited before it the same on both clocks', () => {
    const s = new DecisionStats();
    s.record(12);
    expect(s.summary()).toMatchObject({ count: 1, p50: 12, attempt: { p50: 12, p99: 12 } });
  });

  it('is all zeros before the first placement', () => {
    expect(new DecisionStats().summary()).toEqual({ count: 0, p50: 0, p90: 0, p99: 0, max: 0, attempt: { p50: 0, p90: 0, p99: 0, max: 0 }, counters: {} });
  });

  it('keeps the figures after the warm-up apart when asked to', () => {
    const s = new DecisionStats(2);
    s.record(500, 400); // cold
    s.record(300, 200); // cold
    for (let i = 1; i <= 10; i++) s.record(20 + i, i);
    const r = s.summary();
    expect(r.count).toBe(12);
    expect(r.p99).toBe(500);
    expect(r.warm).toMatchObject({ warmup: 2, count: 10, p99: 30, max: 30, attempt: { p50: 6, p99: 10, max: 10 } });
  });
});
