import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { COLLECTOR_CONFIG, CollectorConfig } from '../config/collector-config';
import { MetricsRepository } from '../persistence/metrics.repository';

/**
 * Periodic rollups (raw → 1-minute buckets) and retention (drops whole partitions: raw after
 * METRICS_RAW_RETENTION_HOURS, rollups after METRICS_ROLLUP_RETENTION_DAYS). Safe with several replicas: each
 * rollup runs under a try-lock, and partition drops are idempotent.
 */
@Injectable()
export class MaintenanceService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('MaintenanceService');
  private timer?: NodeJS.Timeout;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly repo: MetricsRepository,
    @Inject(COLLECTOR_CONFIG) private readonly cfg: CollectorConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.cfg.ingest) return;
    this.timer = setInterval(() => {
      this.running = this.runOnce().catch((err) => this.log.error({ msg: 'maintenance failed', err: String((err as Error)?.message ?? err) }));
    }, this.cfg.maintenanceIntervalMs);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  async runOnce(now = new Date()): Promise<{ rolledUp: { hosts: number; vms: number }; dropped: string[] }> {
    const rolledUp = await this.repo.rollup(now, this.cfg.rollupLatenessMs, this.cfg.rawRetentionHours);
    const rawCutoff = new Date(now.getTime() - this.cfg.rawRetentionHours * 3_600_000);
    const rollupCutoff = new Date(now.getTime() - this.cfg.rollupRetentionDays * 86_400_000);
    const dropped = [
      ...(await this.repo.dropExpired('host_samples', 'hour', rawCutoff)),
      ...(await this.repo.dropExpired('vm_samples', 'hour', rawCutoff)),
      ...(await this.repo.dropExpired('host_samples_1m', 'day', rollupCutoff)),
      ...(await this.repo.dropExpired('vm_samples_1m', 'day', rollupCutoff)),
    ];
    if (dropped.length) this.log.log({ msg: 'retention dropped partitions', dropped });
    return { rolledUp, dropped };
  }
}
