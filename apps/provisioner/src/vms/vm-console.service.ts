import { Inject, Injectable } from '@nestjs/common';
import { VmConsoleReply, VmConsoleRequest } from '@minicloud/contracts';
import { RpcError } from '@minicloud/messaging';
import { HypervisorError } from '@minicloud/hypervisor';
import type { VmState } from '@minicloud/contracts';
import { consoleError } from '../errors';
import { DRIVER_FACTORY, DriverFactory } from '../infra/hypervisor.providers';
import { ProvisionerRepository } from '../persistence/repositories';
import { DEFAULT_CONSOLE_LINES } from '../provisioner.constants';

const NOT_STARTED_YET: VmState[] = ['requested', 'scheduled', 'provisioning', 'failed'];

/**
 * The tail of a VM's serial console log, read on its host. The log (console.log in the VM's directory, opened
 * with append='on') survives stop/start and reboots, so it keeps the whole history of the VM's boots.
 */
@Injectable()
export class VmConsoleService {
  constructor(
    private readonly repo: ProvisionerRepository,
    @Inject(DRIVER_FACTORY) private readonly driverFor: DriverFactory,
  ) {}

  async tail(req: VmConsoleRequest): Promise<VmConsoleReply> {
    const vm = await this.repo.findVm(req.vmId);
    if (!vm) throw new RpcError(404, `VM ${req.vmId} has no console yet: the provisioner has not built it (not scheduled to a host yet, or unknown)`);
    if (vm.state === 'deleted') throw new RpcError(404, `VM ${vm.id} was deleted: it has no console any more`);
    const host = await this.repo.findHost(vm.hostId);
    if (!host) throw new RpcError(404, `host ${vm.hostId} of VM ${vm.id} is not registered`);
    try {
      const lines = await this.driverFor(host).consoleTail(vm.id, req.lines ?? DEFAULT_CONSOLE_LINES);
      return { vmId: vm.id, hostId: host.id, lines };
    } catch (err) {
      // The log is created when the domain first starts: before that there is simply nothing to show yet.
      if (err instanceof HypervisorError && /no console log/.test(err.message) && NOT_STARTED_YET.includes(vm.state)) {
        throw new RpcError(404, `VM ${vm.id} has no console yet: it is ${vm.state} and its domain has not started on ${host.name}`);
      }
      throw consoleError(err, `${host.name} (${host.address})`);
    }
  }
}
