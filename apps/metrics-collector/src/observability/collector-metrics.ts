import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { HostLatestMetrics, HostState } from '@minicloud/contracts';

export interface HostForGauges {
  id: string;
  name: string;
  state: HostState;
}

/** Prometheus names of the per-host gauges, from the latest round's fields (docs/metrics.md lists them). */
export const HOST_GAUGES: { field: keyof HostLatestMetrics; name: string; help: string; scale?: number }[] = [
  { field: 'cpuPercent', name: 'minicloud_host_cpu_utilization_percent', help: 'CPU busy % of the host over the last round' },
  { field: 'load1', name: 'minicloud_host_load1', help: '1-minute load average' },
  { field: 'load5', name: 'minicloud_host_load5', help: '5-minute load average' },
  { field: 'load15', name: 'minicloud_host_load15', help: '15-minute load average' },
  { field: 'memoryTotalMiB', name: 'minicloud_host_memory_total_bytes', help: 'Memory of the host', scale: 1024 * 1024 },
  { field: 'memoryAvailableMiB', name: 'minicloud_host_memory_available_bytes', help: 'MemAvailable of the host', scale: 1024 * 1024 },
  { field: 'memoryUsedPercent', name: 'minicloud_host_memory_used_percent', help: '(total - available) / total' },
  { field: 'diskTotalBytes', name: 'minicloud_host_image_store_size_bytes', help: 'Size of the file system holding /var/lib/minicloud' },
  { field: 'diskUsedBytes', name: 'minicloud_host_image_store_used_bytes', help: 'Used bytes of the file system holding /var/lib/minicloud' },
  { field: 'netRxBytesPerSec', name: 'minicloud_host_network_receive_bytes_per_second', help: "Bytes/s received on the host's own interfaces" },
  { field: 'netTxBytesPerSec', name: 'minicloud_host_network_transmit_bytes_per_second', help: "Bytes/s sent on the host's own interfaces" },
  { field: 'vmCount', name: 'minicloud_host_vms_running', help: 'Domains running (or paused) on the host' },
];

/**
 * The collector's Prometheus registry (one per app instance, not the global one): process metrics, the
 * collector's own counters, and fleet / per-host gauges refreshed from the latest rounds at each scrape.
 */
export class CollectorMetrics {
  readonly registry = new Registry();
  readonly rounds = new Counter({ name: 'minicloud_collector_rounds_total', help: 'Host collection rounds by outcome (ok or the failure kind)', labelNames: ['outcome'], registers: [this.registry] });
  readonly roundSeconds = new Histogram({
    name: 'minicloud_collector_round_duration_seconds',
    help: 'Time of one host round (SSH command and answer)',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly sshBytes = new Counter({ name: 'minicloud_collector_ssh_payload_bytes_total', help: 'Command and answer bytes of the probe (SSH framing not included)', labelNames: ['direction'], registers: [this.registry] });
  readonly ingested = new Counter({ name: 'minicloud_metrics_ingested_rows_total', help: 'Sample rows written', labelNames: ['kind'], registers: [this.registry] });
  readonly dropped = new Counter({ name: 'minicloud_metrics_ingest_dropped_total', help: 'Samples not stored, by reason', labelNames: ['kind', 'reason'], registers: [this.registry] });
  readonly lag = new Histogram({
    name: 'minicloud_metrics_ingest_lag_seconds',
    help: 'From collection (occurredAt) to the commit of the sample',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly stateChanges = new Counter({ name: 'minicloud_collector_host_state_changes_total', help: 'host.state-changed published by the collector', labelNames: ['state'], registers: [this.registry] });

  private readonly hostUp = new Gauge({ name: 'minicloud_host_up', help: '1 when the host is up, 0 otherwise', labelNames: ['host_id', 'host'], registers: [this.registry] });
  private readonly hostLast = new Gauge({ name: 'minicloud_host_last_collection_timestamp_seconds', help: 'When the latest round of the host was collected', labelNames: ['host_id', 'host'], registers: [this.registry] });
  private readonly hostFailed = new Gauge({ name: 'minicloud_host_last_collection_failed', help: '1 when the latest round of the host failed (its values are then absent)', labelNames: ['host_id', 'host'], registers: [this.registry] });
  private readonly hostGauges = HOST_GAUGES.map((g) => ({ ...g, gauge: new Gauge({ name: g.name, help: g.help, labelNames: ['host_id', 'host'], registers: [this.registry] }) }));
  private readonly fleetHosts = new Gauge({ name: 'minicloud_fleet_hosts', help: 'Registered hosts by state', labelNames: ['state'], registers: [this.registry] });
  private readonly fleetVms = new Gauge({ name: 'minicloud_fleet_vms_running', help: 'Running domains over all hosts with a good latest round', registers: [this.registry] });
  private readonly fleetMemTotal = new Gauge({ name: 'minicloud_fleet_memory_total_bytes', help: 'Memory over all hosts with a good latest round', registers: [this.registry] });
  private readonly fleetMemAvail = new Gauge({ name: 'minicloud_fleet_memory_available_bytes', help: 'Available memory over all hosts with a good latest round', registers: [this.registry] });
  /** Labelled so that "unknown" can be no sample at all (an unlabelled gauge always shows a value). */
  private readonly fleetCpu = new Gauge({ name: 'minicloud_fleet_cpu_utilization_percent', help: 'CPU busy % over hosts with a good latest round (aggregate="mean")', labelNames: ['aggregate'], registers: [this.registry] });
  private readonly fleetReporting = new Gauge({ name: 'minicloud_fleet_hosts_reporting', help: 'Hosts whose latest round (within the window) succeeded', registers: [this.registry] });

  constructor(withProcessMetrics = true) {
    if (withProcessMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** Replaces the fleet and per-host gauges (hosts that disappeared lose their series). */
  setHosts(hosts: HostForGauges[], latest: Record<string, HostLatestMetrics>): void {
    for (const g of [this.hostUp, this.hostLast, this.hostFailed, this.fleetHosts, ...this.hostGauges.map((h) => h.gauge)]) g.reset();
    const byState = new Map<string, number>([['up', 0], ['down', 0], ['disabled', 0], ['maintenance', 0]]);
    let vms = 0;
    let memTotal = 0;
    let memAvail = 0;
    let cpuSum = 0;
    let cpuN = 0;
    let reporting = 0;
    for (const h of hosts) {
      const labels = { host_id: h.id, host: h.name };
      byState.set(h.state, (byState.get(h.state) ?? 0) + 1);
      this.hostUp.set(labels, h.state === 'up' ? 1 : 0);
      const l = latest[h.id];
      if (!l) continue;
      this.hostLast.set(labels, Date.parse(l.collectedAt) / 1000);
      this.hostFailed.set(labels, l.error ? 1 : 0);
      if (l.error) continue;
      reporting++;
      for (const g of this.hostGauges) {
        const v = l[g.field];
        if (typeof v === 'number') g.gauge.set(labels, v * (g.scale ?? 1));
      }
      vms += l.vmCount ?? 0;
      memTotal += (l.memoryTotalMiB ?? 0) * 1024 * 1024;
      memAvail += (l.memoryAvailableMiB ?? 0) * 1024 * 1024;
      if (typeof l.cpuPercent === 'number') {
        cpuSum += l.cpuPercent;
        cpuN++;
      }
    }
    for (const [state, n] of byState) this.fleetHosts.set({ state }, n);
    this.fleetVms.set(vms);
    this.fleetMemTotal.set(memTotal);
    this.fleetMemAvail.set(memAvail);
    this.fleetReporting.set(reporting);
    this.fleetCpu.reset();
    if (cpuN) this.fleetCpu.set({ aggregate: 'mean' }, Math.round((cpuSum / cpuN) * 100) / 100); // none known: no sample, not 0
  }
}

export const COLLECTOR_METRICS = Symbol('COLLECTOR_METRICS');
