import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { MetricsLatestReply, MetricsLatestRequest, MetricsSeries, MetricsSeriesRequest, Rpc } from '@minicloud/contracts';
import { Bus, RpcError } from '@minicloud/messaging';
import { COLLECTOR_CONFIG, CollectorConfig } from '../config/collector-config';
import { RPC_QUEUE } from '../constants';
import { HOST_FIELDS, VM_FIELDS } from '../persistence/fields';
import { MetricsRepository } from '../persistence/metrics.repository';
import { planSeries, SeriesPlanError } from './series-plan';

/** Answers rpc.metrics.* for the gateway (request/reply, one replica of the queue group answers). */
@Injectable()
export class MetricsRpc implements OnApplicationBootstrap {
  constructor(
    private readonly bus: Bus,
    private readonly repo: MetricsRepository,
    @Inject(COLLECTOR_CONFIG) private readonly cfg: CollectorConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.bus.serve(Rpc.MetricsHostSeries, MetricsSeriesRequest, RPC_QUEUE, (r) => this.series('host', r));
    this.bus.serve(Rpc.MetricsVmSeries, MetricsSeriesRequest, RPC_QUEUE, (r) => this.series('vm', r));
    this.bus.serve(Rpc.MetricsLatest, MetricsLatestRequest, RPC_QUEUE, (r) => this.latest(r));
  }

  /** How old the newest round may be to count as "latest": a few intervals, at least 10 minutes. */
  latestWindowMs(): number {
    return Math.max(600_000, this.cfg.intervalMs * 5);
  }

  async series(kind: 'host' | 'vm', r: MetricsSeriesRequest): Promise<MetricsSeries> {
    let plan;
    try {
      plan = planSeries(r, new Date(), this.cfg);
    } catch (err) {
      if (err instanceof SeriesPlanError) throw new RpcError(400, err.message);
      throw err;
    }
    const points =
      kind === 'host'
        ? await this.repo.hostSeries(r.id, plan.from, plan.to, plan.step, plan.source)
        : await this.repo.vmSeries(r.id, plan.from, plan.to, plan.step, plan.source);
    const fields = [...(kind === 'host' ? HOST_FIELDS : VM_FIELDS).map((f) => f.api), 'cpuPercentMax'];
    return { id: r.id, kind, from: plan.from.toISOString(), to: plan.to.toISOString(), step: plan.step, source: plan.source, fields, points };
  }

  async latest(r: MetricsLatestRequest): Promise<MetricsLatestReply> {
    const w = this.latestWindowMs();
    const [hosts, vms] = await Promise.all([this.repo.latestHosts(r.hostIds ?? [], w), this.repo.latestVms(r.vmIds ?? [], w)]);
    return { hosts, vms };
  }
}
