import { Inject, Injectable, Optional } from '@nestjs/common';
import { Subjects, VmScheduledEvent, VmState } from '@minicloud/contracts';
import { Bus, MessageContext } from '@minicloud/messaging';
import { buildSeedIso, domainName, SeedInput } from '@minicloud/hypervisor';
import { JsonLogger } from '@minicloud/telemetry';
import { describeBuildFailure } from '../errors';
import { DRIVER_FACTORY, DriverFactory } from '../infra/hypervisor.providers';
import { HostEntity, ImageEntity, VmEntity } from '../persistence/entities';
import { ProvisionerRepository } from '../persistence/repositories';
import { VM_SCHEDULED_CONSUMER, VM_SCHEDULED_MAX_DELIVER } from '../provisioner.constants';
import { isTransientBuildError, VmBuilder } from './vm-builder';
import { VmLocks } from './vm-locks';

const log = new JsonLogger('provisioner');

/** A failed build goes back to the scheduler for another host while the scheduler allows more attempts. */
export function mayRetryElsewhere(e: Pick<VmScheduledEvent, 'attempt' | 'maxAttempts'>): boolean {
  return e.maxAttempts !== undefined && e.attempt < e.maxAttempts;
}

/** Thrown to get a message redelivered later (the VM stays `provisioning` meanwhile). */
export class RetryLaterError extends Error {}

/**
 * Handles vm.scheduled: builds the VM on its host and publishes vm.state-changed provisioning → running, or
 * failed with a reason a person understands. Idempotent:
 *  - a VM already running on that host is not touched again; its `running` state is re-announced with the
 *    generation it had (readers ignore it if they have it, so an event lost after our commit is healed);
 *  - an event already handled (inbox) is not handled again;
 *  - a VM half-built by a crashed earlier delivery is cleaned away and rebuilt (see VmBuilder).
 * Transient failures (host unreachable, libvirt busy) are retried by redelivery up to the consumer's limit,
 * then the VM is `failed`.
 */
@Injectable()
export class VmProvisioningService {
  constructor(
    private readonly repo: ProvisionerRepository,
    private readonly bus: Bus,
    @Inject(DRIVER_FACTORY) private readonly driverFor: DriverFactory,
    @Optional() private readonly locks: VmLocks = new VmLocks(),
  ) {}

  /** Deliveries for one VM run one after another in this process (and never beside a lifecycle action on it). */
  handleScheduled(e: VmScheduledEvent, ctx: Pick<MessageContext, 'deliveryCount'>): Promise<void> {
    return this.locks.run(e.vmId, () => this.handle(e, ctx));
  }

  private async handle(e: VmScheduledEvent, ctx: Pick<MessageContext, 'deliveryCount'>): Promise<void> {
    const before = await this.repo.findVm(e.vmId);
    if (before?.state === 'deleted' || before?.state === 'deleting' || (!before && (await this.repo.deletedBeforeBuild(e.vmId)))) {
      // A late or duplicate scheduling of a VM that was deleted meanwhile: never build it again.
      log.warn({ msg: 'vm.scheduled for a deleted VM: ignored', vmId: e.vmId, state: before?.state ?? 'deleted before it was built' }, 'VmProvisioning');
      await this.repo.transaction((m) => this.repo.recordInbox(VM_SCHEDULED_CONSUMER, e.eventId, m));
      return;
    }
    if (before?.state === 'running') {
      if (before.hostId !== e.hostId) {
        log.warn({ msg: 'vm.scheduled for a VM already running on another host: ignored', vmId: e.vmId, runningOn: before.hostId, scheduledTo: e.hostId }, 'VmProvisioning');
      } else {
        await this.announce(before, 'provisioning');
      }
      await this.repo.transaction((m) => this.repo.recordInbox(VM_SCHEDULED_CONSUMER, e.eventId, m));
      return;
    }
    if (await this.repo.inboxHas(VM_SCHEDULED_CONSUMER, e.eventId)) {
      if (before) await this.announce(before, 'provisioning');
      return;
    }

    let vm: VmEntity;
    if (before?.state === 'provisioning' && before.hostId === e.hostId) {
      vm = before; // a redelivery after a transient failure: already announced
    } else {
      vm = await this.repo.saveVm(
        Object.assign(before ?? new VmEntity(), {
          id: e.vmId,
          name: e.name,
          hostId: e.hostId,
          imageId: e.image.id,
          resources: { vcpus: e.resources.vcpus, memoryMiB: e.resources.memoryMiB, diskGiB: e.resources.diskGiB },
          storage: e.storage ?? 'local',
          state: 'provisioning' as const,
          generation: Math.max(before?.generation ?? 1, 1) + 1,
          domainName: domainName(e.vmId),
          lastError: null,
        }),
      );
      await this.announce(vm, 'scheduled');
    }

    const host = await this.repo.findHost(e.hostId);
    if (!host) return this.finish(vm, e, 'failed', `host ${e.hostId} is not registered with the provisioner`);
    const image = await this.repo.findImage(e.image.id);
    if (!image) return this.finish(vm, e, 'failed', `unknown image ${e.image.name} (${e.image.id}): it is not registered with the provisioner`);
    if (image.checksum !== e.image.checksum) {
      return this.finish(vm, e, 'failed', `image ${image.name} has checksum ${image.checksum}, but the request was for ${e.image.checksum}`);
    }

    try {
      const result = await this.build(vm, host, image, e);
      await this.repo.recordHostImages(host.id, result.hostFiles);
      log.log({ msg: result.adopted ? 'VM found already running: adopted' : 'VM built and started', vmId: vm.id, hostId: host.id, uploaded: result.uploaded }, 'VmProvisioning');
      await this.finish(vm, e, 'running');
    } catch (err) {
      const reason = describeBuildFailure(err, host);
      if (isTransientBuildError(err) && ctx.deliveryCount < VM_SCHEDULED_MAX_DELIVER) {
        log.warn({ msg: 'VM build failed, will retry', vmId: vm.id, delivery: ctx.deliveryCount, reason }, 'VmProvisioning');
        throw new RetryLaterError(reason);
      }
      // This host could not build it (the builder removed what it made): while attempts remain, hand the VM back
      // to the scheduler (`requested`), which claims on a host not tried yet and schedules attempt + 1.
      if (mayRetryElsewhere(e)) {
        log.warn({ msg: 'VM build failed on this host; the scheduler places it on another', vmId: vm.id, hostId: host.id, attempt: e.attempt, maxAttempts: e.maxAttempts, reason }, 'VmProvisioning');
        return this.finish(vm, e, 'requested', `attempt ${e.attempt} of ${e.maxAttempts} failed on ${host.name}: ${reason}`);
      }
      await this.finish(vm, e, 'failed', reason);
    }
  }

  private async build(vm: VmEntity, host: HostEntity, image: ImageEntity, e: VmScheduledEvent) {
    const builder = new VmBuilder(this.driverFor(host), {
      onRetry: (err, attempt, delayMs) => log.warn({ msg: 'VM build step failed, retrying', vmId: vm.id, attempt, delayMs, err: (err as Error).message }, 'VmProvisioning'),
    });
    // The cloud-init NoCloud seed (instance-id, hostname, SSH keys / user-data) is built here, uploaded by the driver.
    const seed = await this.seedBuilder({ vmId: vm.id, hostname: vm.name, sshKeys: e.sshKeys, userData: e.userData });
    try {
      return await this.buildWith(builder, vm, host, image, seed.isoPath);
    } finally {
      await seed.cleanup();
    }
  }

  /** Swappable in tests. */
  seedBuilder: (input: SeedInput) => Promise<{ isoPath: string; cleanup: () => Promise<void> }> = buildSeedIso;

  private async buildWith(builder: VmBuilder, vm: VmEntity, host: HostEntity, image: ImageEntity, seedIsoLocalPath: string) {
    return builder.build({
      seedIsoLocalPath,
      vmId: vm.id,
      name: vm.name,
      resources: vm.resources,
      storage: vm.storage ?? 'local',
      image: {
        format: image.format,
        virtualSizeBytes: image.virtualSizeBytes,
        cmdline: image.cmdline ?? undefined,
        disk: { checksum: image.checksum, localPath: image.path },
        kernel: image.kernelPath && image.kernelChecksum ? { checksum: image.kernelChecksum, localPath: image.kernelPath } : undefined,
        initrd: image.initrdPath && image.initrdChecksum ? { checksum: image.initrdChecksum, localPath: image.initrdPath } : undefined,
      },
      cachedChecksums: await this.repo.cachedChecksums(host.id),
    });
  }

  /** Commits the new state with the event in the inbox, then publishes it. */
  private async finish(vm: VmEntity, e: VmScheduledEvent, state: 'running' | 'failed' | 'requested', reason?: string): Promise<void> {
    const previous = vm.state;
    const saved = await this.repo.transaction(async (m) => {
      await this.repo.recordInbox(VM_SCHEDULED_CONSUMER, e.eventId, m);
      vm.state = state;
      vm.generation += 1;
      vm.lastError = reason ?? null;
      return this.repo.saveVm(vm, m);
    });
    if (state === 'failed') log.warn({ msg: 'VM failed', vmId: vm.id, reason }, 'VmProvisioning');
    await this.announce(saved, previous, reason);
  }

  private async announce(vm: VmEntity, previousState: VmState, reason?: string): Promise<void> {
    await this.bus.publish(Subjects.VmStateChanged, {
      vmId: vm.id,
      state: vm.state,
      previousState,
      hostId: vm.hostId,
      generation: vm.generation,
      ...(reason ?? vm.lastError ? { reason: (reason ?? vm.lastError ?? '').slice(0, 4000) } : {}),
    });
  }
}
