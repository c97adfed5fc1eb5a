import { planSeries, SeriesPlanError } from './series-plan';

const now = new Date('2026-11-22T12:00:00Z');
const o = { intervalMs: 10_000, rawRetentionHours: 24 };

describe('planSeries', () => {
  it('defaults to the last hour from raw rounds at about 360 points', () => {
    expect(planSeries({}, now, o)).toEqual({ from: new Date('2026-11-22T11:00:00Z'), to: now, step: 10, source: 'raw' });
  });

  it('uses raw rounds below a minute and rollups from a minute on, in whole minutes', () => {
    expect(planSeries({ from: '2026-11-22T11:50:00Z', step: 30 }, now, o)).toMatchObject({ step: 30, source: 'raw' });
    expect(planSeries({ from: '2026-11-22T06:00:00Z', step: 90 }, now, o)).toMatchObject({ step: 120, source: '1m' });
    expect(planSeries({ from: '2026-11-15T00:00:00Z', to: '2026-11-22T00:00:00Z' }, now, o)).toMatchObject({ step: 1680, source: '1m' });
  });

  it('answers from rollups once the range reaches past the raw retention', () => {
    expect(planSeries({ from: '2026-11-21T11:00:00Z', to: '2026-11-21T11:10:00Z', step: 10 }, now, o)).toMatchObject({ step: 60, source: '1m' });
  });

  it('never picks an automatic step finer than the collection interval', () => {
    expect(planSeries({ from: '2026-11-22T11:59:00Z' }, now, { ...o, intervalMs: 2000 }).step).toBe(2);
  });

  it('refuses inverted, too long and too dense requests', () => {
    expect(() => planSeries({ from: '2026-11-22T12:00:00Z', to: '2026-11-22T11:00:00Z' }, now, o)).toThrow(new SeriesPlanError('from must be before to'));
    expect(() => planSeries({ from: '2026-09-01T00:00:00Z' }, now, o)).toThrow(/at most 31 days/);
    expect(() => planSeries({ from: '2026-11-21T13:00:00Z', step: 1 }, now, o)).toThrow(/82800 points requested, at most 11000/);
  });
});
