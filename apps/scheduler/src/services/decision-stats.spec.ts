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
    const zero = { p50: 0, p90: 0, p99: 0, max: 0 };
    const s = new DecisionStats();
    expect(s.summary()).toEqual({ count: 0, ...zero, attempt: zero, committed: zero, counters: {} });
    s.close();
  });

  it('keeps the time to the commit apart from the whole attempt (which also waits for the publish)', () => {
    const s = new DecisionStats(1);
    s.record(90, 80, 70); // cold
    for (let i = 1; i <= 10; i++) s.record(30 + i, 20 + i, i);
    s.record(8); // one by one, not told: the whole attempt
    const r = s.summary();
    expect(r.attempt.max).toBe(80);
    expect(r.committed).toMatchObject({ p50: 7, max: 70 });
    expect(r.warm?.committed).toMatchObject({ p99: 10, max: 10 });
    s.close();
  });

  it('reports how late the event loop ran, once it has run', async () => {
    const s = new DecisionStats();
    await new Promise((r) => setTimeout(r, 30)); // the monitor's timer is running
    const until = Date.now() + 60;
    while (Date.now() < until); // holds the event loop for 60 ms
    await new Promise((r) => setTimeout(r, 50));
    const r = s.summary();
    s.close();
    expect(r.eventLoopDelay?.max).toBeGreaterThanOrEqual(40);
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
