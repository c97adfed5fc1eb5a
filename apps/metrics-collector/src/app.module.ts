import { Module } from '@nestjs/common';
import { BusModule, HealthController, serviceDatabaseModule } from '@minicloud/service-kit';
import { SshPool } from '@minicloud/ssh';
import { MetricsRpc } from './api/metrics.rpc';
import { PrometheusController } from './api/prometheus.controller';
import { CollectionService } from './collection/collection.service';
import { COLLECTOR_CONFIG, CollectorConfig, collectorConfigFromEnv } from './config/collector-config';
import { SCHEMA, SERVICE } from './constants';
import { HostRegistryService } from './hosts/host-registry.service';
import { IngestService } from './ingest/ingest.service';
import { MaintenanceService } from './maintenance/maintenance.service';
import { COLLECTOR_METRICS, CollectorMetrics } from './observability/collector-metrics';
import { METRICS_ENTITIES } from './persistence/entities';
import { MetricsRepository } from './persistence/metrics.repository';
import { METRICS_MIGRATIONS } from './persistence/migrations/1732500000000-metrics-init';

@Module({
  imports: [BusModule.forRoot(SERVICE), serviceDatabaseModule({ schema: SCHEMA, entities: METRICS_ENTITIES, migrations: METRICS_MIGRATIONS, poolSize: 12 })],
  controllers: [HealthController, PrometheusController],
  providers: [
    { provide: COLLECTOR_CONFIG, useFactory: () => collectorConfigFromEnv() },
    { provide: COLLECTOR_METRICS, useFactory: () => new CollectorMetrics() },
    {
      provide: SshPool,
      inject: [COLLECTOR_CONFIG],
      // One persistent connection per host; connecting counts against the round's per-host timeout.
      useFactory: (cfg: CollectorConfig) => new SshPool({ connectTimeoutMs: cfg.hostTimeoutMs, defaultExecTimeoutMs: cfg.hostTimeoutMs, keepaliveIntervalMs: Math.max(2000, cfg.intervalMs) }),
    },
    MetricsRepository,
    CollectionService,
    HostRegistryService,
    IngestService,
    MaintenanceService,
    MetricsRpc,
  ],
})
export class AppModule {}
