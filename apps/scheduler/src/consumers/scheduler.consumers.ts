import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Subjects } from '@minicloud/contracts';
import { Bus } from '@minicloud/messaging';
import { Durables } from '../scheduler.constants';
import { ClaimReleaseService } from '../services/claim-release.service';
import { SchedulerConfig } from '../services/config';
import { HostRegistryService } from '../services/host-registry.service';
import { MigrationHoldService } from '../services/migration-hold.service';
import { SchedulingService } from '../services/scheduling.service';
import { BatchPlacementService } from '../services/batch-placement.service';
import { SCHEDULER_CONFIG } from '../services/tokens';

/** Starts the scheduler's durable consumers (one filter subject each); returning from a handler acks. */
@Injectable()
export class SchedulerConsumers implements OnApplicationBootstrap {
  constructor(
    @Inject(Bus) private readonly bus: Bus,
    @Inject(SCHEDULER_CONFIG) private readonly cfg: SchedulerConfig,
    private readonly scheduling: SchedulingService,
    private readonly batches: BatchPlacementService,
    private readonly release: ClaimReleaseService,
    private readonly registry: HostRegistryService,
    private readonly migrations: MigrationHoldService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.bus.consume(Subjects.HostRegistered, { durable: Durables.hostRegistered }, (e) => this.registry.onRegistered(Durables.hostRegistered, e));
    await this.bus.consume(Subjects.HostStateChanged, { durable: Durables.hostStateChanged }, (e) =>
      this.registry.onStateChanged(Durables.hostStateChanged, e),
    );
    await this.bus.consume(Subjects.HostMetrics, { durable: Durables.hostMetrics, concurrency: 4, maxDeliver: 2 }, async (e) => {
      await this.registry.onMetrics(e);
    });
    await this.bus.consume(Subjects.VmMetrics, { durable: Durables.vmMetrics, concurrency: 4, maxDeliver: 2 }, async (e) => {
      await this.registry.onVmMetrics(e);
    });
    // Batches: the requests that arrive while one batch is decided form the next (up to batchMax), so twice
    // that many may be in flight; one by one (batchMax 1) with the configured concurrency.
    const batched = this.cfg.batchMax > 1;
    const inFlight = batched ? Math.max(this.cfg.concurrency, 2 * this.cfg.batchMax) : this.cfg.concurrency;
    await this.bus.consume(Subjects.VmRequested, { durable: Durables.vmRequested, concurrency: inFlight }, async (e) => {
      if (batched) await this.batches.submit(e);
      else await this.scheduling.handleVmRequested(e);
    });
    await this.bus.consume(Subjects.VmStateChanged, { durable: Durables.vmStateChanged }, async (e) => {
      await this.release.onVmStateChanged(Durables.vmStateChanged, e);
    });
    await this.bus.consume(Subjects.VmDeleted, { durable: Durables.vmDeleted }, async (e) => {
      await this.release.onVmDeleted(Durables.vmDeleted, e);
    });
    await this.bus.consume(Subjects.MigrationRequested, { durable: Durables.migrationRequested }, async (e) => {
      await this.migrations.onRequested(e);
    });
    await this.bus.consume(Subjects.MigrationCompleted, { durable: Durables.migrationCompleted }, async (e) => {
      await this.migrations.onCompleted(Durables.migrationCompleted, e);
    });
    await this.bus.consume(Subjects.MigrationFailed, { durable: Durables.migrationFailed }, async (e) => {
      await this.migrations.onFailed(Durables.migrationFailed, e);
    });
  }
}
