import { Module } from '@nestjs/common';
import { BusModule, HealthController, serviceDatabaseModule } from '@minicloud/service-kit';
import { MigrationRecord, SCHEMA } from './db/migration.entity';
import { MigratorInit1732240000000 } from './db/1732240000000-migrator-init';

/**
 * The migrator: runs live migrations on the hosts. This release brings up the service, its schema and health;
 * the migration engine (virsh migrate over SSH, cost model, progress events) is the live-migration work item.
 */
@Module({
  imports: [
    BusModule.forRoot('migrator'),
    serviceDatabaseModule({ schema: SCHEMA, entities: [MigrationRecord], migrations: [MigratorInit1732240000000] }),
  ],
  controllers: [HealthController],
})
export class AppModule {}
