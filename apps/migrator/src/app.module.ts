import { Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { BusModule, HealthController, serviceDatabaseModule } from '@minicloud/service-kit';
import { SshPool } from '@minicloud/ssh';
import { MIGRATOR_CONFIG, migratorConfigFromEnv } from './config/config';
import { SERVICE } from './constants';
import { HostDirectoryService } from './hosts/host-directory.service';
import { MigratorInit1732240000000 } from './persistence/1732240000000-migrator-init';
import { MigratorEngine1732600000000 } from './persistence/1732600000000-migrator-engine';
import { MigrationRecord, MigratorHost, SCHEMA } from './persistence/entities';
import { MigrationsRepository } from './persistence/migrations.repository';
import { MigrationEngineService } from './services/migration-engine.service';

@Injectable()
class SshPoolCloser implements OnApplicationShutdown {
  constructor(@Inject(SshPool) private readonly pool: SshPool) {}
  async onApplicationShutdown() {
    await this.pool.close();
  }
}

/**
 * The migrator: runs live (and cold) migrations on the hosts over SSH with libvirt — the cost model picks the
 * strategy, progress is published every second, cancel/force-complete/timeouts are honoured, and every
 * migration ends with the VM on exactly one host (docs/migration.md).
 */
@Module({
  imports: [
    BusModule.forRoot(SERVICE),
    serviceDatabaseModule({ schema: SCHEMA, entities: [MigrationRecord, MigratorHost], migrations: [MigratorInit1732240000000, MigratorEngine1732600000000] }),
  ],
  controllers: [HealthController],
  providers: [
    { provide: MIGRATOR_CONFIG, useFactory: () => migratorConfigFromEnv() },
    { provide: SshPool, useFactory: () => new SshPool() },
    SshPoolCloser,
    MigrationsRepository,
    HostDirectoryService,
    MigrationEngineService,
  ],
})
export class AppModule {}
