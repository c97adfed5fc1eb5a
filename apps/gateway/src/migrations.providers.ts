import { MIGRATION_ENTITIES } from './db/migration.entities';
import { GatewayMigrations1732300000000 } from './db/migrations/1732300000000-gateway-migrations';
import { MigrationEventsConsumer, MigrationProjector } from './migrations/migration.consumer';
import { MigrationsController, VmMigrateController } from './migrations/migrations.controller';
import { MigrationsRepository } from './migrations/migrations.repository';
import { MigrationsService } from './migrations/migrations.service';

/** Issue 6 (live migration: REST API and read model), wired into AppModule by these lists. */
export const MIGRATION_TABLE_ENTITIES = MIGRATION_ENTITIES;
export const MIGRATION_MIGRATIONS = [GatewayMigrations1732300000000];
export const MIGRATION_CONTROLLERS = [VmMigrateController, MigrationsController];
export const MIGRATION_PROVIDERS = [MigrationsRepository, MigrationsService, MigrationProjector, MigrationEventsConsumer];
