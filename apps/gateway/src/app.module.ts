import { Module } from '@nestjs/common';
import { BusModule, HealthController, serviceDatabaseModule } from '@minicloud/service-kit';
import { GATEWAY_ENTITIES, SCHEMA } from './db/entities';
import { GATEWAY_MIGRATIONS } from './db/migrations/1732240000000-gateway-init';
import { LIFECYCLE_CONTROLLERS, LIFECYCLE_MIGRATIONS, LIFECYCLE_PROVIDERS, LIFECYCLE_TABLE_ENTITIES } from './lifecycle.providers';
import { PLANNER_CONTROLLERS, PLANNER_PROVIDERS } from './planner.providers';
import { MIGRATION_CONTROLLERS, MIGRATION_MIGRATIONS, MIGRATION_PROVIDERS, MIGRATION_TABLE_ENTITIES } from './migrations.providers';
import { HostsController } from './hosts/hosts.controller';
import { HostsService } from './hosts/hosts.service';
import { ImagesController } from './images/images.controller';
import { ImagesService } from './images/images.service';
import { GatewayEventsConsumer } from './read-model/events.consumer';
import { GatewayRepository } from './read-model/gateway.repository';
import { ReadModelProjector } from './read-model/projector';
import { ReservationsController, SchedulerQueueController } from './scheduler/scheduler.controller';
import { MetricsClient } from './metrics/metrics.client';
import { MetricsController } from './metrics/metrics.controller';
import { VmsController } from './vms/vms.controller';
import { VmsService } from './vms/vms.service';

@Module({
  imports: [BusModule.forRoot('gateway'), serviceDatabaseModule({ schema: SCHEMA, entities: [...GATEWAY_ENTITIES, ...LIFECYCLE_TABLE_ENTITIES, ...MIGRATION_TABLE_ENTITIES], migrations: [...GATEWAY_MIGRATIONS, ...LIFECYCLE_MIGRATIONS, ...MIGRATION_MIGRATIONS] })],
  controllers: [HealthController, VmsController, HostsController, ImagesController, SchedulerQueueController, ReservationsController, MetricsController, ...LIFECYCLE_CONTROLLERS, ...PLANNER_CONTROLLERS, ...MIGRATION_CONTROLLERS],
  providers: [GatewayRepository, ReadModelProjector, GatewayEventsConsumer, VmsService, HostsService, ImagesService, MetricsClient, ...LIFECYCLE_PROVIDERS, ...PLANNER_PROVIDERS, ...MIGRATION_PROVIDERS],
})
export class AppModule {}
