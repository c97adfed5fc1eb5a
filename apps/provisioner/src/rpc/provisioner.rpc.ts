import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { HostAdminStateRequest, HostRegisterRequest, HostRemoveRequest, ImageRegisterRequest, Rpc, VmConsoleRequest, VmPrepareMigrationRequest } from '@minicloud/contracts';
import { Bus } from '@minicloud/messaging';
import { HostAdminService } from '../hosts/host-admin.service';
import { HostRegistrationService } from '../hosts/host-registration.service';
import { ImageRegistrationService } from '../images/image-registration.service';
import { MigrationPrepareService } from '../migration/migration-prepare.service';
import { RPC_QUEUE } from '../provisioner.constants';
import { VmConsoleService } from '../vms/vm-console.service';

/** The provisioner's request/reply API (validated by the Bus against the contract classes). */
@Injectable()
export class ProvisionerRpc implements OnApplicationBootstrap {
  constructor(
    private readonly bus: Bus,
    private readonly hosts: HostRegistrationService,
    private readonly images: ImageRegistrationService,
    private readonly consoles: VmConsoleService,
    private readonly hostAdmin: HostAdminService,
    private readonly migrations: MigrationPrepareService,
  ) {}

  onApplicationBootstrap() {
    this.bus.serve(Rpc.HostRegister, HostRegisterRequest, RPC_QUEUE, (req) => this.hosts.register(req));
    this.bus.serve(Rpc.ImageRegister, ImageRegisterRequest, RPC_QUEUE, (req) => this.images.register(req));
    this.bus.serve(Rpc.VmConsole, VmConsoleRequest, RPC_QUEUE, (req) => this.consoles.tail(req));
    this.bus.serve(Rpc.HostAdminState, HostAdminStateRequest, RPC_QUEUE, (req) => this.hostAdmin.setAdminState(req));
    this.bus.serve(Rpc.HostRemove, HostRemoveRequest, RPC_QUEUE, (req) => this.hostAdmin.remove(req));
    this.bus.serve(Rpc.VmPrepareMigration, VmPrepareMigrationRequest, RPC_QUEUE, (req) => this.migrations.prepare(req));
  }
}
