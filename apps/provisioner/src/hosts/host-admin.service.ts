import { Injectable } from '@nestjs/common';
import { HostAdminStateRequest, HostRemoveRequest, HostView, Subjects } from '@minicloud/contracts';
import { Bus, RpcError } from '@minicloud/messaging';
import { JsonLogger } from '@minicloud/telemetry';
import { ProvisionerRepository } from '../persistence/repositories';
import { toHostView } from '../views';

const log = new JsonLogger('provisioner');

/** Host administration: enable/disable (the scheduler stops placing on a disabled host) and removal. */
@Injectable()
export class HostAdminService {
  constructor(
    private readonly repo: ProvisionerRepository,
    private readonly bus: Bus,
  ) {}

  async setAdminState(req: HostAdminStateRequest): Promise<HostView> {
    const host = await this.repo.findHost(req.hostId);
    if (!host) throw new RpcError(404, `host ${req.hostId} is not registered`);
    const previousState = host.state;
    const disable = req.adminState === 'disabled';
    host.adminState = req.adminState;
    host.state = disable ? 'disabled' : 'up';
    host.stateReason = req.reason ?? (disable ? 'disabled by an administrator' : 'enabled by an administrator');
    const saved = await this.repo.saveHost(host);
    await this.bus.publish(Subjects.HostStateChanged, { hostId: saved.id, state: saved.state, previousState, reason: saved.stateReason });
    log.log({ msg: `host ${req.adminState}`, hostId: saved.id, reason: saved.stateReason }, 'HostAdmin');
    return toHostView(saved);
  }

  /** Refused (409, with the VM ids) while any VM that is not deleted is recorded on the host. */
  async remove(req: HostRemoveRequest): Promise<{ removed: true }> {
    const host = await this.repo.findHost(req.hostId);
    if (!host) throw new RpcError(404, `host ${req.hostId} is not registered`);
    const vms = await this.repo.liveVmsOfHost(host.id);
    if (vms.length) {
      throw new RpcError(409, `host ${host.name} (${host.id}) still has ${vms.length} VM(s): ${vms.map((v) => v.id).join(', ')}; delete or migrate them first`);
    }
    await this.repo.transaction((m) => this.repo.deleteHost(host.id, m));
    await this.bus.publish(Subjects.HostRemoved, { hostId: host.id });
    log.log({ msg: 'host removed', hostId: host.id, name: host.name, address: host.address }, 'HostAdmin');
    return { removed: true };
  }
}
