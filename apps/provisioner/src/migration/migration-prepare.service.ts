import { Inject, Injectable, Optional } from '@nestjs/common';
import type { MigrationStorageKind, VmPrepareMigrationReply, VmPrepareMigrationRequest, VmState, VmStorageKind } from '@minicloud/contracts';
import { RpcError } from '@minicloud/messaging';
import { assertImageCachePath, HypervisorDriver, ImageFile, imagePath, vmDiskPath, vmDiskPathFor, vmFilePath, VM_FILES } from '@minicloud/hypervisor';
import { JsonLogger } from '@minicloud/telemetry';
import { prepareMigrationError } from '../errors';
import { DRIVER_FACTORY, DriverFactory } from '../infra/hypervisor.providers';
import { HostEntity, ImageEntity, VmEntity } from '../persistence/entities';
import { ProvisionerRepository } from '../persistence/repositories';
import { VmLocks } from '../vms/vm-locks';

const log = new JsonLogger('provisioner');

/** States a VM may be migrated from (`migrating`: a prepare repeated while the migration runs is harmless). */
export const MIGRATABLE_STATES: readonly VmState[] = ['running', 'stopped', 'migrating'];

const label = (h: HostEntity) => `${h.name} (${h.address})`;

/**
 * Why a migration with `storage` cannot move this VM to `target`, or null. A VM on the shared datastore moves only
 * with `shared` (copying its disk would write it onto itself) and only to a host with the datastore; a host-local VM
 * only with `copy` (no other host sees its disk).
 */
export function sharedStorageProblem(
  vmId: string,
  vmStorage: VmStorageKind,
  storage: MigrationStorageKind,
  target: { name: string; sharedStorage: boolean },
): string | null {
  if (vmStorage === 'shared') {
    if (storage !== 'shared') return `VM ${vmId} has its disk on the shared datastore: it migrates with storage 'shared' (the disk stays where it is), not '${storage}'`;
    if (!target.sharedStorage) return `host ${target.name} has no shared datastore, so it cannot run VM ${vmId} whose disk is on it`;
    return null;
  }
  if (storage === 'shared') return `VM ${vmId} has a host-local disk (storage 'local'): no other host sees it, migrate it with storage 'copy'`;
  return null;
}

/**
 * rpc.provisioner.vm.prepare-migration: puts what the VM needs on the target before the migrator runs
 * `virsh migrate` — the image files in the target's cache (the disk's backing file, kernel, initrd at the same paths
 * as on the source), the VM's directory, for storage `copy` an empty overlay disk like the source's (same backing
 * file, same virtual size; never over an existing disk), and the cloud-init seed. For storage `shared` the target
 * must already see the disk. Idempotent: a second call finds everything in place and changes nothing.
 *
 * The storage must fit the VM's disk (sharedStorageProblem): a VM on the shared datastore moves only with `shared`
 * (its one disk is never copied, created or removed here), a host-local VM only with `copy`.
 */
@Injectable()
export class MigrationPrepareService {
  constructor(
    private readonly repo: ProvisionerRepository,
    @Inject(DRIVER_FACTORY) private readonly driverFor: DriverFactory,
    @Optional() private readonly locks: VmLocks = new VmLocks(),
  ) {}

  prepare(req: VmPrepareMigrationRequest): Promise<VmPrepareMigrationReply> {
    return this.locks.run(req.vmId, () => this.run(req));
  }

  private async run(req: VmPrepareMigrationRequest): Promise<VmPrepareMigrationReply> {
    const vm = await this.repo.findVm(req.vmId);
    if (!vm) throw new RpcError(404, `VM ${req.vmId} is not known to the provisioner (it was never built on a host)`);
    if (!vm.hostId) throw new RpcError(409, `VM ${vm.id} has no host: there is nothing to migrate`);
    if (!MIGRATABLE_STATES.includes(vm.state)) {
      throw new RpcError(409, `VM ${vm.id} is ${vm.state}: only a ${MIGRATABLE_STATES.join(', ')} VM can be migrated`);
    }
    const target = await this.repo.findHost(req.targetHostId);
    if (!target) throw new RpcError(404, `host ${req.targetHostId} is not registered`);
    if (target.id === vm.hostId) throw new RpcError(409, `VM ${vm.id} already runs on host ${target.name}: the target must be another host`);
    const source = await this.repo.findHost(vm.hostId);
    if (!source) throw new RpcError(409, `host ${vm.hostId} of VM ${vm.id} is not registered`);
    const image = await this.repo.findImage(vm.imageId);
    if (!image) throw new RpcError(409, `image ${vm.imageId} of VM ${vm.id} is not registered`);

    const vmStorage = vm.storage ?? 'local';
    const problem = sharedStorageProblem(vm.id, vmStorage, req.storage, { name: target.name, sharedStorage: target.facts?.sharedStorage === true });
    if (problem) throw new RpcError(409, problem);
    const diskPath = vmDiskPathFor(vm.id, vmStorage);
    const src = this.driverFor(source);
    const dst = this.driverFor(target);
    const prepared: string[] = [];
    if (req.storage === 'shared' && !(await this.onHost(target, () => dst.pathExists(diskPath)))) {
      throw new RpcError(409, `storage 'shared' but host ${target.name} does not see ${diskPath}`);
    }
    // Recorded before the target is touched: from now on reconciliation knows the VM's domain may appear there.
    await this.repo.setMigrationTarget(vm.id, target.id);
    prepared.push(...(await this.onHost(target, () => this.ensureImage(dst, target, image))));
    await this.onHost(target, () => dst.ensureVmDir(vm.id));
    if (vmStorage === 'shared') await this.checkSharedBacking(vm, target, dst, diskPath);
    if (req.storage === 'copy') {
      if (await this.copyDisk(vm, image, source, target, src, dst)) prepared.push(diskPath);
    }
    prepared.push(...(await this.copyVmFiles(vm, source, target, src, dst)));

    log.log({ msg: 'migration target prepared', vmId: vm.id, sourceHostId: source.id, targetHostId: target.id, storage: req.storage, prepared }, 'MigrationPrepare');
    return { vmId: vm.id, sourceHostId: source.id, targetHostId: target.id, diskPath, prepared };
  }

  /** The image's files into the target's cache, as a build does (trusted when our records say they were verified). */
  private async ensureImage(dst: HypervisorDriver, target: HostEntity, image: ImageEntity): Promise<string[]> {
    const kernel: ImageFile | undefined = image.kernelPath && image.kernelChecksum ? { checksum: image.kernelChecksum, localPath: image.kernelPath } : undefined;
    const initrd: ImageFile | undefined = image.initrdPath && image.initrdChecksum ? { checksum: image.initrdChecksum, localPath: image.initrdPath } : undefined;
    const cached = await this.repo.cachedChecksums(target.id);
    const sums = [image.checksum, kernel?.checksum, initrd?.checksum].filter((s): s is string => !!s);
    const ensured = await dst.ensureImage(
      { disk: { checksum: image.checksum, localPath: image.path, format: image.format, virtualSizeBytes: image.virtualSizeBytes }, kernel, initrd },
      { trusted: sums.every((s) => cached.has(s)) },
    );
    await this.repo.recordHostImages(target.id, [
      { checksum: image.checksum, remotePath: ensured.paths.disk },
      ...(kernel && ensured.paths.kernel ? [{ checksum: kernel.checksum, remotePath: ensured.paths.kernel }] : []),
      ...(initrd && ensured.paths.initrd ? [{ checksum: initrd.checksum, remotePath: ensured.paths.initrd }] : []),
    ]);
    return ensured.uploaded;
  }

  /**
   * Storage `copy`: the destination disk `virsh migrate --copy-storage-all` fills — a qcow2 overlay on the same backing
   * file with the same virtual size as the source's (both read from the source). An existing disk is kept if it is
   * such an overlay, and refused (409) otherwise: it is never overwritten. Returns whether it was created now.
   */
  private async copyDisk(vm: VmEntity, image: ImageEntity, source: HostEntity, target: HostEntity, src: HypervisorDriver, dst: HypervisorDriver): Promise<boolean> {
    const diskPath = vmDiskPath(vm.id);
    const info = await this.onHost(source, () => src.vmDiskInfo(vm.id));
    if (!info) throw new RpcError(409, `VM ${vm.id} has no disk ${diskPath} on its host ${source.name}`);
    if (!info.backingFile) throw new RpcError(409, `the disk ${diskPath} of VM ${vm.id} on ${source.name} has no backing file: it is not a linked clone of an image`);
    const format = (info.backingFormat ?? 'qcow2') as 'qcow2' | 'raw';
    if (format !== 'qcow2' && format !== 'raw') throw new RpcError(409, `the disk ${diskPath} on ${source.name} has a ${format} backing file; only qcow2 and raw are supported`);
    const backing = info.backingFile;
    try {
      assertImageCachePath(backing);
    } catch {
      throw new RpcError(409, `the disk ${diskPath} on ${source.name} is backed by ${backing}, which is not an image of the platform's cache`);
    }
    if (!(await this.onHost(target, () => dst.pathExists(backing)))) {
      throw new RpcError(409, `the backing file ${backing} of ${diskPath} (read on ${source.name}) is not on ${target.name}, and it is not the VM's image file ${imagePath(image.checksum, image.format)}`);
    }
    const created = await this.onHost(target, () => dst.createVmDiskOverlay(vm.id, { path: backing, format }, info.virtualSizeBytes));
    if (created) return true;
    const there = await this.onHost(target, () => dst.vmDiskInfo(vm.id));
    if (there && there.backingFile === backing && there.virtualSizeBytes === info.virtualSizeBytes) return false;
    throw new RpcError(
      409,
      `host ${target.name} already has a disk ${diskPath} that is not like the source's (backing ${there?.backingFile ?? 'none'}, ${there?.virtualSizeBytes ?? '?'} bytes; ` +
        `the source's: backing ${backing}, ${info.virtualSizeBytes} bytes): it is never overwritten — remove it first`,
    );
  }

  /**
   * A shared disk is an overlay whose backing template is named by its absolute path in the image cache: the target
   * must have that very file (ensureImage put the VM's image there; read through the target, which sees the disk).
   */
  private async checkSharedBacking(vm: VmEntity, target: HostEntity, dst: HypervisorDriver, diskPath: string): Promise<void> {
    const info = await this.onHost(target, () => dst.vmDiskInfo(vm.id, 'shared'));
    if (!info) throw new RpcError(409, `host ${target.name} does not see ${diskPath}`);
    if (!info.backingFile) return; // a standalone disk needs nothing else
    const backing = info.backingFile;
    try {
      assertImageCachePath(backing);
    } catch {
      throw new RpcError(409, `the shared disk ${diskPath} of VM ${vm.id} is backed by ${backing}, which is not an image of the platform's cache`);
    }
    if (!(await this.onHost(target, () => dst.pathExists(backing)))) {
      throw new RpcError(409, `the backing file ${backing} of the shared disk ${diskPath} is not in the image cache of ${target.name}`);
    }
  }

  /** The VM directory's files (cloud-init seed) that the source has and the target lacks, copied byte for byte. */
  private async copyVmFiles(vm: VmEntity, source: HostEntity, target: HostEntity, src: HypervisorDriver, dst: HypervisorDriver): Promise<string[]> {
    const copied: string[] = [];
    for (const name of VM_FILES) {
      const want = await this.onHost(source, () => src.vmFileChecksum(vm.id, name));
      if (!want) continue;
      if ((await this.onHost(target, () => dst.vmFileChecksum(vm.id, name))) === want) continue;
      const data = await this.onHost(source, () => src.readVmFile(vm.id, name));
      if (!data) continue; // removed meanwhile
      await this.onHost(target, () => dst.writeVmFile(vm.id, name, data));
      copied.push(vmFilePath(vm.id, name));
    }
    return copied;
  }

  private async onHost<T>(host: HostEntity, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw prepareMigrationError(err, label(host));
    }
  }
}
