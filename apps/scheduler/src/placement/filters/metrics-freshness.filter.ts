import { HostView } from '../types';
import { HostFilter, plural } from './host-filter';

/**
 * Once a host has reported metrics (the metrics collector runs), it must keep doing so: a host whose latest
 * host.metrics is older than `maxAgeMs` is treated as not up. A host that never reported passes (no collector).
 */
export class MetricsFreshnessFilter implements HostFilter {
  readonly name = 'metrics';

  constructor(
    private readonly maxAgeMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  passes(host: HostView): boolean {
    return host.metricsAt == null || this.now() - host.metricsAt <= this.maxAgeMs;
  }

  describeRemoved(removed: HostView[]): string {
    return `${plural(removed.length, 'had', 'had')} no fresh metrics (last report older than ${Math.round(this.maxAgeMs / 1000)} s)`;
  }
}
