import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { EventOf, Subjects } from '@minicloud/contracts';
import { Bus } from '@minicloud/messaging';
import { COLLECTOR_CONFIG, CollectorConfig } from '../config/collector-config';
import { Durables } from '../constants';
import { COLLECTOR_METRICS, CollectorMetrics } from '../observability/collector-metrics';
import { HostSampleRow, MetricsRepository, VmSampleRow } from '../persistence/metrics.repository';
import { HOST_FIELDS, VM_FIELDS } from '../persistence/fields';
import { BatchConsumer } from './batch-consumer';

type HostMetrics = EventOf<typeof Subjects.HostMetrics>;
type VmMetrics = EventOf<typeof Subjects.VmMetrics>;

/** Samples older than the raw retention would land in a partition already dropped: not stored. */
export function hostRows(events: HostMetrics[], oldest: number): { rows: HostSampleRow[]; tooOld: number } {
  const rows: HostSampleRow[] = [];
  let tooOld = 0;
  for (const e of events) {
    const at = Date.parse(e.occurredAt);
    if (at < oldest) {
      tooOld++;
      continue;
    }
    const values: Record<string, number | undefined> = {};
    // A failed round stores no values at all, whatever the message carries.
    if (!e.error) for (const f of HOST_FIELDS) values[f.api] = (e as unknown as Record<string, number | undefined>)[f.api];
    rows.push({ hostId: e.hostId, collectedAt: new Date(at), values, error: e.error });
  }
  return { rows, tooOld };
}

/** Only minicloud VMs (domains with a VM id) are stored; others are on the bus only. */
export function vmRows(events: VmMetrics[], oldest: number): { rows: VmSampleRow[]; tooOld: number; foreign: number } {
  const rows: VmSampleRow[] = [];
  let tooOld = 0;
  let foreign = 0;
  for (const e of events) {
    const at = Date.parse(e.occurredAt);
    if (at < oldest) {
      tooOld += e.vms.length;
      continue;
    }
    for (const v of e.vms) {
      if (!v.vmId) {
        foreign++;
        continue;
      }
      const values: Record<string, number | undefined> = {};
      for (const f of VM_FIELDS) values[f.api] = (v as unknown as Record<string, number | undefined>)[f.api];
      rows.push({ vmId: v.vmId, hostId: e.hostId, collectedAt: new Date(at), state: v.state, values });
    }
  }
  return { rows, tooOld, foreign };
}

/** Stores host.metrics and vm.metrics from the bus in batches (one INSERT per batch and table). */
@Injectable()
export class IngestService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('IngestService');
  private readonly consumers: BatchConsumer<typeof Subjects.HostMetrics | typeof Subjects.VmMetrics>[] = [];

  constructor(
    private readonly bus: Bus,
    private readonly repo: MetricsRepository,
    @Inject(COLLECTOR_CONFIG) private readonly cfg: CollectorConfig,
    @Inject(COLLECTOR_METRICS) private readonly metrics: CollectorMetrics,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.cfg.ingest) return;
    const log = (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) =>
      level === 'info' ? this.log.log({ msg, ...extra }) : this.log[level]({ msg, ...extra });
    const common = { batchSize: this.cfg.ingestBatchSize, flushMs: this.cfg.ingestFlushMs, maxAckPending: this.cfg.ingestMaxAckPending, log };
    const host = new BatchConsumer(
      this.bus,
      Subjects.HostMetrics,
      { ...common, durable: Durables.hostMetrics, onCommitted: (_n, lags) => lags.forEach((l) => this.metrics.lag.observe(l)) },
      (events) => this.storeHosts(events),
    );
    const vm = new BatchConsumer(this.bus, Subjects.VmMetrics, { ...common, durable: Durables.vmMetrics }, (events) => this.storeVms(events));
    await host.start();
    await vm.start();
    this.consumers.push(host, vm);
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled(this.consumers.map((c) => c.stop()));
  }

  private oldest(): number {
    return Date.now() - this.cfg.rawRetentionHours * 3_600_000;
  }

  async storeHosts(events: HostMetrics[]): Promise<void> {
    const { rows, tooOld } = hostRows(events, this.oldest());
    if (tooOld) this.metrics.dropped.inc({ kind: 'host', reason: 'older_than_retention' }, tooOld);
    const n = await this.repo.insertHostSamples(rows);
    this.metrics.ingested.inc({ kind: 'host' }, n);
  }

  async storeVms(events: VmMetrics[]): Promise<void> {
    const { rows, tooOld, foreign } = vmRows(events, this.oldest());
    if (tooOld) this.metrics.dropped.inc({ kind: 'vm', reason: 'older_than_retention' }, tooOld);
    if (foreign) this.metrics.dropped.inc({ kind: 'vm', reason: 'not_a_minicloud_vm' }, foreign);
    const n = await this.repo.insertVmSamples(rows);
    this.metrics.ingested.inc({ kind: 'vm' }, n);
  }
}
