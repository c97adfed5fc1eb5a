import { APP_INTERCEPTOR } from '@nestjs/core';
import { LIFECYCLE_ENTITIES } from './db/lifecycle.entities';
import { GatewayLifecycle1732260000000 } from './db/migrations/1732260000000-gateway-lifecycle';
import { FlavorsController } from './flavors/flavors.controller';
import { FlavorsRepository } from './flavors/flavors.repository';
import { FlavorsService } from './flavors/flavors.service';
import { HostAdminController } from './hosts/host-admin.controller';
import { HostAdminService } from './hosts/host-admin.service';
import { IdempotencyInterceptor } from './idempotency/idempotency.interceptor';
import { IdempotencyRepository } from './idempotency/idempotency.repository';
import { LifecycleEventsConsumer, LifecycleProjector } from './operations/lifecycle.consumer';
import { OperationsController } from './operations/operations.controller';
import { OperationsRepository } from './operations/operations.repository';
import { OperationsService } from './operations/operations.service';

/** Issue 3 (operations, idempotency keys, flavors, host administration), wired into AppModule by these lists. */
export const LIFECYCLE_TABLE_ENTITIES = LIFECYCLE_ENTITIES;
export const LIFECYCLE_MIGRATIONS = [GatewayLifecycle1732260000000];
export const LIFECYCLE_CONTROLLERS = [OperationsController, FlavorsController, HostAdminController];
export const LIFECYCLE_PROVIDERS = [
  OperationsRepository,
  OperationsService,
  LifecycleProjector,
  LifecycleEventsConsumer,
  FlavorsRepository,
  FlavorsService,
  HostAdminService,
  IdempotencyRepository,
  { provide: APP_INTERCEPTOR, useClass: IdempotencyInterceptor },
];
