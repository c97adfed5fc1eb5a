import { METRICS_MAX_POINTS, METRICS_MAX_RANGE_SECONDS } from '@minicloud/contracts';

export interface SeriesPlan {
  from: Date;
  to: Date;
  /** Seconds per point. */
  step: number;
  source: 'raw' | '1m';
}

export class SeriesPlanError extends Error {}

/** Points an automatic step aims for. */
export const AUTO_POINTS = 360;

/**
 * Which table answers a series request and at what step: raw rounds for steps under a minute within the raw
 * retention, 1-minute rollups otherwise (step rounded up to whole minutes). Defaults: the last hour, about
 * AUTO_POINTS points, never finer than the collection interval.
 */
export function planSeries(
  q: { from?: string; to?: string; step?: number },
  now: Date,
  o: { intervalMs: number; rawRetentionHours: number },
): SeriesPlan {
  const to = q.to ? new Date(q.to) : now;
  const from = q.from ? new Date(q.from) : new Date(to.getTime() - 3_600_000);
  if (Number.isNaN(to.getTime()) || Number.isNaN(from.getTime())) throw new SeriesPlanError('from and to must be ISO 8601 times');
  if (from.getTime() >= to.getTime()) throw new SeriesPlanError('from must be before to');
  const rangeS = (to.getTime() - from.getTime()) / 1000;
  if (rangeS > METRICS_MAX_RANGE_SECONDS) throw new SeriesPlanError(`the range may cover at most ${METRICS_MAX_RANGE_SECONDS / 86_400} days`);
  const minStep = Math.max(1, Math.ceil(o.intervalMs / 1000));
  let step = q.step ?? Math.max(minStep, Math.ceil(rangeS / AUTO_POINTS));
  const rawFrom = now.getTime() - o.rawRetentionHours * 3_600_000;
  const source: SeriesPlan['source'] = step >= 60 || from.getTime() < rawFrom ? '1m' : 'raw';
  if (source === '1m') step = Math.ceil(step / 60) * 60;
  if (rangeS / step > METRICS_MAX_POINTS) {
    throw new SeriesPlanError(`${Math.ceil(rangeS / step)} points requested, at most ${METRICS_MAX_POINTS}: use a larger step`);
  }
  return { from, to, step, source };
}
