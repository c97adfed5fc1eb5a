import { Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { BusModule, HealthController, serviceDatabaseModule } from '@minicloud/service-kit';
import { SchedulerConsumers } from './consumers/scheduler.consumers';
import { SchedulerRpc } from './consumers/scheduler.rpc';
import {
  ClaimRepository,
  CursorRepository,
  entities,
  HostRepository,
  MaintenanceRepository,
  MigrationHoldRepository,
  migrations,
  PlannerRepository,
  QueueRepository,
  ReservationRepository,
} from './persistence';
import { allocationRatiosFromEnv } from './placement/capacity';
import { defaultFilters } from './placement/filters';
import { Planner } from './placement/planner';
import { defaultPolicyName, policiesFromEnv } from './placement/policies';
import { SCHEMA, SERVICE } from './scheduler.constants';
import { ClaimReleaseService } from './services/claim-release.service';
import { SchedulerConfig, schedulerConfigFromEnv } from './services/config';
import { DecisionStats } from './services/decision-stats';
import { HostCache } from './services/host-cache.service';
import { HostRegistryService } from './services/host-registry.service';
import { MaintenanceService } from './services/maintenance.service';
import { MigrationHoldService } from './services/migration-hold.service';
import { PlannerService } from './services/planner.service';
import { DecisionPublisher } from './services/publisher';
import { QueueService } from './services/queue.service';
import { RelocationService } from './services/relocation.service';
import { ReservationService } from './services/reservation.service';
import { SchedulingService } from './services/scheduling.service';
import { StartClaimService } from './services/start-claim.service';
import { BatchPlacementService } from './services/batch-placement.service';
import { ALLOCATION_RATIOS, DECISION_STATS, PLANNER, SCHEDULER_CONFIG } from './services/tokens';

@Module({
  imports: [BusModule.forRoot(SERVICE), serviceDatabaseModule({ schema: SCHEMA, entities, migrations, poolSize: Number(process.env.SCHEDULER_DB_POOL ?? 16) })],
  controllers: [HealthController],
  providers: [
    { provide: SCHEDULER_CONFIG, useFactory: () => schedulerConfigFromEnv() },
    {
      provide: PLANNER,
      inject: [SCHEDULER_CONFIG],
      useFactory: (cfg: SchedulerConfig) => {
        const all = policiesFromEnv();
        return new Planner(defaultFilters(cfg.filters), all[defaultPolicyName()], Object.values(all));
      },
    },
    { provide: ALLOCATION_RATIOS, useFactory: () => allocationRatiosFromEnv() },
    { provide: DECISION_STATS, useFactory: () => new DecisionStats(Math.max(0, Number(process.env.SCHEDULER_STATS_WARMUP ?? 0) || 0)) },
    {
      provide: HostCache,
      inject: [DataSource, HostRepository, SCHEDULER_CONFIG],
      useFactory: (db: DataSource, hosts: HostRepository, cfg: SchedulerConfig) => {
        const c = new HostCache(db, hosts);
        c.maxAgeMs = cfg.hostRefreshMs;
        return c;
      },
    },
    HostRepository,
    ClaimRepository,
    CursorRepository,
    QueueRepository,
    ReservationRepository,
    MigrationHoldRepository,
    PlannerRepository,
    MaintenanceRepository,
    DecisionPublisher,
    SchedulingService,
    BatchPlacementService,
    ReservationService,
    QueueService,
    RelocationService,
    MigrationHoldService,
    ClaimReleaseService,
    HostRegistryService,
    MaintenanceService,
    PlannerService,
    StartClaimService,
    SchedulerConsumers,
    SchedulerRpc,
  ],
})
export class AppModule {}

