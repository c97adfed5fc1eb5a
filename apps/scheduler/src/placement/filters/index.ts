import { ArchFilter } from './arch.filter';
import { CapacityFilter } from './capacity.filter';
import { ExcludeHostsFilter } from './exclude-hosts.filter';
import { GroupFilter } from './group.filter';
import { HostFilter } from './host-filter';
import { HostStateFilter } from './host-state.filter';
import { DEFAULT_LOAD_CAPS, LoadCaps, LoadFilter } from './load.filter';
import { MetricsFreshnessFilter } from './metrics-freshness.filter';
import { SharedStorageFilter } from './shared-storage.filter';
import { TargetHostFilter } from './target-host.filter';

export * from './host-filter';
export * from './arch.filter';
export * from './capacity.filter';
export * from './exclude-hosts.filter';
export * from './group.filter';
export * from './host-state.filter';
export * from './load.filter';
export * from './metrics-freshness.filter';
export * from './shared-storage.filter';
export * from './target-host.filter';

export interface FilterConfig {
  loadCaps: LoadCaps;
  /** Hosts whose latest metrics are older than this are treated as not up (default 120 s). */
  metricsMaxAgeMs: number;
  now?: () => number;
}

export const DEFAULT_FILTER_CONFIG: FilterConfig = { loadCaps: DEFAULT_LOAD_CAPS, metricsMaxAgeMs: 120_000 };

/**
 * The filter chain, in order: cheap structural checks first, then each resource, then load. Hosts are counted
 * under the first filter that removed them, so a VM too big for every host is reported as lacking the resource
 * (which waiting cannot fix) rather than as hosts being busy at the moment.
 */
export function defaultFilters(cfg: FilterConfig = DEFAULT_FILTER_CONFIG): HostFilter[] {
  return [
    new HostStateFilter(),
    new MetricsFreshnessFilter(cfg.metricsMaxAgeMs, cfg.now),
    new TargetHostFilter(),
    new ExcludeHostsFilter(),
    new ArchFilter(),
    new SharedStorageFilter(),
    new GroupFilter('affinity'),
    new GroupFilter('anti-affinity'),
    new CapacityFilter('vcpus'),
    new CapacityFilter('memory'),
    new CapacityFilter('disk'),
    new LoadFilter(cfg.loadCaps),
  ];
}

/** Names of the filters that only depend on capacity in use (freed capacity may make them pass later). */
export const CAPACITY_FILTERS = new Set(['vcpus', 'memory', 'disk']);
