import { Controller, Get, Header, Inject } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { COLLECTOR_METRICS, CollectorMetrics } from '../observability/collector-metrics';
import { MetricsRepository } from '../persistence/metrics.repository';
import { MetricsRpc } from './metrics.rpc';

/** Prometheus exposition (text format 0.0.4): fleet and per-host gauges from the latest rounds, process metrics. */
@ApiExcludeController()
@Controller()
export class PrometheusController {
  constructor(
    private readonly repo: MetricsRepository,
    private readonly rpc: MetricsRpc,
    @Inject(COLLECTOR_METRICS) private readonly metrics: CollectorMetrics,
  ) {}

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(): Promise<string> {
    const hosts = await this.repo.listHosts();
    const latest = await this.repo.latestHosts(hosts.map((h) => h.id), this.rpc.latestWindowMs());
    this.metrics.setHosts(hosts, latest);
    return this.metrics.registry.metrics();
  }
}
