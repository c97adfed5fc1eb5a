import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { JsonLogger } from '@minicloud/telemetry';
import { DRIVER_FACTORY, DriverFactory } from '../infra/hypervisor.providers';
import { HostEntity } from '../persistence/entities';
import { ProvisionerRepository } from '../persistence/repositories';
import { reconcileIntervalMs } from '../provisioner.constants';
import { VmLocks } from '../vms/vm-locks';
import { VmTransitions } from '../vms/vm-transitions';
import { diffHost, HostDiff } from './reconcile';

const log = new JsonLogger('provisioner');

export interface HostReconcileResult extends HostDiff {
  hostId: string;
  /** Changes actually applied (a VM that moved meanwhile is left for the next round). */
  applied: number;
  error?: string;
}

/**
 * Brings the provisioner's records in line with the hosts: on a timer (PROVISIONER_RECONCILE_INTERVAL_MS) and
 * when a host comes back up. Per host it lists the real domains, diffs them with the vms table (diffHost, pure)
 * and applies each change under the VM's lock after re-checking it; unknown mc-* domains are logged and kept in
 * provisioner.unknown_domains, never deleted.
 */
@Injectable()
export class ReconcileService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private readonly running = new Map<string, Promise<HostReconcileResult>>();
  private round?: Promise<unknown>;

  constructor(
    private readonly repo: ProvisionerRepository,
    @Inject(DRIVER_FACTORY) private readonly driverFor: DriverFactory,
    private readonly locks: VmLocks,
    private readonly transitions: VmTransitions,
  ) {}

  onApplicationBootstrap() {
    const every = reconcileIntervalMs();
    if (every > 0) {
      this.timer = setInterval(() => {
        if (!this.round) this.round = this.reconcileAll().catch(() => undefined).finally(() => (this.round = undefined));
      }, every);
      this.timer.unref();
    }
  }

  async onApplicationShutdown() {
    if (this.timer) clearInterval(this.timer);
    await this.round;
  }

  async reconcileAll(): Promise<HostReconcileResult[]> {
    const hosts = await this.repo.listHosts();
    const out: HostReconcileResult[] = [];
    for (const h of hosts) out.push(await this.reconcileHost(h.id));
    return out;
  }

  /** One host; concurrent calls for the same host share one run. */
  reconcileHost(hostId: string): Promise<HostReconcileResult> {
    const inFlight = this.running.get(hostId);
    if (inFlight) return inFlight;
    const p = this.doHost(hostId).finally(() => this.running.delete(hostId));
    this.running.set(hostId, p);
    return p;
  }

  private async doHost(hostId: string): Promise<HostReconcileResult> {
    const host = await this.repo.findHost(hostId);
    if (!host) return { hostId, changes: [], unknown: [], applied: 0, error: 'host not registered' };
    const driver = this.driverFor(host);
    let observed;
    try {
      observed = await driver.listDomainStates();
    } catch (err) {
      const error = `cannot list domains on ${label(host)}: ${(err as Error).message}`;
      log.warn({ msg: 'reconciliation skipped a host', hostId, error }, 'Reconcile');
      return { hostId, changes: [], unknown: [], applied: 0, error };
    }
    const recorded = await this.repo.vmsOfHost(hostId);
    // Domains legitimately here without being recorded here: VMs migrating (anywhere), and VMs whose migration onto
    // this host was prepared (the domain appears before migration.started may have been handled).
    const migrating = new Set([...(await this.repo.vmsInStates(['migrating'])), ...(await this.repo.vmsMigratingOnto(hostId))].map((v) => v.id));
    const diff = diffHost(host.name, recorded, observed, migrating);

    let applied = 0;
    for (const c of diff.changes) {
      const done = await this.locks.run(c.vmId, async () => {
        const vm = await this.repo.findVm(c.vmId);
        if (!vm || vm.state !== c.from || vm.hostId !== hostId) return false;
        // Re-check this one domain now: an action may have finished between the listing and the lock.
        const now = await driver.domainState(vm.id).catch(() => undefined);
        if (now === undefined) return false;
        const again = diffHost(host.name, [vm], now === 'absent' ? [] : [{ uuid: vm.id, name: vm.domainName, state: now }]);
        const change = again.changes[0];
        if (!change || change.to !== c.to) return false;
        if (now === 'absent' && vm.migrationTargetHostId && (await this.onMigrationTarget(vm.id, vm.migrationTargetHostId))) {
          // Its migration moved the domain away (migration.started/completed not handled yet): not "disappeared".
          log.log({ msg: 'domain left its host for its migration target: not failed', vmId: vm.id, hostId, targetHostId: vm.migrationTargetHostId }, 'Reconcile');
          return false;
        }
        await this.transitions.move(vm, change.to, change.reason);
        log.warn({ msg: 'reconciliation changed a VM', vmId: vm.id, hostId, from: change.from, to: change.to, reason: change.reason }, 'Reconcile');
        return true;
      });
      if (done) applied++;
    }

    const firstSeen = new Set(await this.repo.replaceUnknownDomains(hostId, diff.unknown.map((d) => ({ name: d.name, uuid: d.uuid, state: d.state }))));
    for (const d of diff.unknown) {
      if (firstSeen.has(d.name)) {
        log.warn({ msg: 'unknown domain on host (reported, not deleted)', hostId, host: host.name, address: host.address, domain: d.name, uuid: d.uuid, state: d.state }, 'Reconcile');
      }
    }
    return { hostId, ...diff, applied };
  }

  /** Is the VM's domain on the host its migration was prepared for? (Unknown — host away — counts as yes: never fail on a guess.) */
  private async onMigrationTarget(vmId: string, targetHostId: string): Promise<boolean> {
    const target = await this.repo.findHost(targetHostId);
    if (!target) return false;
    const state = await this.driverFor(target).domainState(vmId).catch(() => undefined);
    return state !== 'absent';
  }
}

function label(h: HostEntity): string {
  return `${h.name} (${h.address})`;
}
