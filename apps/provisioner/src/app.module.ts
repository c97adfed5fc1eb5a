import { Module } from '@nestjs/common';
import { BusModule, HealthController, serviceDatabaseModule } from '@minicloud/service-kit';
import { HostAdminService } from './hosts/host-admin.service';
import { HostRegistrationService } from './hosts/host-registration.service';
import { VmActionConsumer } from './lifecycle/vm-action.consumer';
import { VmActionService } from './lifecycle/vm-action.service';
import { VmPreemptConsumer } from './lifecycle/vm-preempt.consumer';
import { VmPreemptService } from './lifecycle/vm-preempt.service';
import { HostStateConsumer } from './reconcile/host-state.consumer';
import { ReconcileService } from './reconcile/reconcile.service';
import { ImageRegistrationService } from './images/image-registration.service';
import { hypervisorProviders } from './infra/hypervisor.providers';
import { MigrationEventsConsumer } from './migration/migration-events.consumer';
import { MigrationPrepareService } from './migration/migration-prepare.service';
import { MigrationStateService } from './migration/migration-state.service';
import { entities } from './persistence/entities';
import { migrations } from './persistence/migrations';
import { ProvisionerRepository } from './persistence/repositories';
import { SCHEMA, SERVICE } from './provisioner.constants';
import { ProvisionerRpc } from './rpc/provisioner.rpc';
import { VmConsoleService } from './vms/vm-console.service';
import { VmProvisioningService } from './vms/vm-provisioning.service';
import { VmLocks } from './vms/vm-locks';
import { VmScheduledConsumer } from './vms/vm-scheduled.consumer';
import { VmTransitions } from './vms/vm-transitions';

@Module({
  imports: [BusModule.forRoot(SERVICE), serviceDatabaseModule({ schema: SCHEMA, entities, migrations })],
  controllers: [HealthController],
  providers: [
    ...hypervisorProviders,
    ProvisionerRepository,
    VmLocks,
    VmTransitions,
    HostRegistrationService,
    HostAdminService,
    ImageRegistrationService,
    VmProvisioningService,
    VmConsoleService,
    ProvisionerRpc,
    VmScheduledConsumer,
    VmActionService,
    VmActionConsumer,
    ReconcileService,
    HostStateConsumer,
    MigrationPrepareService,
    MigrationStateService,
    MigrationEventsConsumer,
    VmPreemptService,
    VmPreemptConsumer,
  ],
})
export class AppModule {}
