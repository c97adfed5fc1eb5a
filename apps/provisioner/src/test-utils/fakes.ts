import { createHash } from 'crypto';
import type { HostFacts } from '@minicloud/contracts';
import type { CreatedVm, DomainInfo, DomainState, EnsureImageResult, HypervisorDriver, ImageFiles, QemuImgInfo, RebootOutcome, VmFileName, VmSpec } from '@minicloud/hypervisor';

/** An in-memory hypervisor: domains with states, a file cache, and hooks to inject failures. */
type FailOp =
  | 'ensureImage' | 'createVm' | 'domainState' | 'startVm' | 'stopVm' | 'destroyVm' | 'deleteVm' | 'suspendVm' | 'resumeVm' | 'rebootVm' | 'listDomainStates'
  | 'vmDiskInfo' | 'pathExists' | 'createVmDiskOverlay' | 'readVmFile' | 'writeVmFile';

export class FakeDriver implements HypervisorDriver {
  domains = new Map<string, DomainState>();
  cache = new Set<string>();
  calls: string[] = [];
  failNext: Partial<Record<FailOp, Error[]>> = {};
  stateAfterStart: DomainState = 'running';
  /** A guest that ignores ACPI: shutdown requests do nothing, reboot needs a reset. */
  deafGuest = false;
  specs: VmSpec[] = [];
  /** VM disks (by VM id) as qemu-img would describe them. */
  disks = new Map<string, QemuImgInfo>();
  /** Files of VM directories, by `<vmId>/<name>`. */
  vmFiles = new Map<string, Buffer>();
  vmDirs = new Set<string>();
  /** Other paths the host sees (e.g. a shared disk). */
  extraPaths = new Set<string>();
  /** Disks on the shared datastore (by VM id): give two drivers the same map to make them share it. */
  sharedDisks = new Map<string, QemuImgInfo>();

  private maybeFail(op: FailOp) {
    const e = this.failNext[op]?.shift();
    if (e) throw e;
  }
  async discover(): Promise<HostFacts> {
    return { cpus: 2, cpuModel: 'fake', memoryMiB: 4096, diskGiB: 50, arch: 'x86_64', hypervisorVersion: 'QEMU 7.2.0', libvirtVersion: '9.0.0' };
  }
  async ensureImage(image: ImageFiles, opts?: { trusted?: boolean }): Promise<EnsureImageResult> {
    this.calls.push(`ensureImage trusted=${!!opts?.trusted}`);
    this.maybeFail('ensureImage');
    const uploaded: string[] = [];
    const p = (sum: string, ext: string) => {
      const path = `/var/lib/minicloud/images/${sum}.${ext}`;
      if (!this.cache.has(path)) {
        this.cache.add(path);
        uploaded.push(path);
      }
      return path;
    };
    return {
      paths: {
        disk: p(image.disk.checksum, image.disk.format),
        kernel: image.kernel && p(image.kernel.checksum, 'vmlinuz'),
        initrd: image.initrd && p(image.initrd.checksum, 'initrd'),
      },
      uploaded,
    };
  }
  async createVm(spec: VmSpec): Promise<CreatedVm> {
    this.calls.push(`createVm ${spec.vmId}`);
    this.specs.push(spec);
    this.maybeFail('createVm');
    this.domains.set(spec.vmId, this.stateAfterStart);
    return { domainName: `mc-${spec.vmId}`, vmDir: `/var/lib/minicloud/vms/${spec.vmId}`, diskPath: '' };
  }
  async startVm(vmId: string) {
    this.calls.push(`startVm ${vmId}`);
    this.maybeFail('startVm');
    this.domains.set(vmId, 'running');
  }
  async stopVm(vmId: string) {
    this.calls.push(`stopVm ${vmId}`);
    this.maybeFail('stopVm');
    if (!this.deafGuest && this.domains.has(vmId)) this.domains.set(vmId, 'shutoff');
  }
  async destroyVm(vmId: string) {
    this.calls.push(`destroyVm ${vmId}`);
    this.maybeFail('destroyVm');
    if (this.domains.has(vmId)) this.domains.set(vmId, 'shutoff');
  }
  async deleteVm(vmId: string, opts: { removeSharedDisk?: boolean } = {}) {
    this.calls.push(`deleteVm ${vmId}${opts.removeSharedDisk ? ' +shared-disk' : ''}`);
    this.maybeFail('deleteVm');
    this.domains.delete(vmId);
  }
  async suspendVm(vmId: string) {
    this.calls.push(`suspendVm ${vmId}`);
    this.maybeFail('suspendVm');
    this.domains.set(vmId, 'paused');
  }
  async resumeVm(vmId: string) {
    this.calls.push(`resumeVm ${vmId}`);
    this.maybeFail('resumeVm');
    this.domains.set(vmId, 'running');
  }
  async rebootVm(vmId: string): Promise<RebootOutcome> {
    this.calls.push(`rebootVm ${vmId}`);
    this.maybeFail('rebootVm');
    return this.deafGuest ? 'reset' : 'acpi';
  }
  async listDomains(): Promise<DomainInfo[]> {
    return [...this.domains.keys()].map((uuid) => ({ uuid, name: `mc-${uuid}` }));
  }
  async listDomainStates() {
    this.maybeFail('listDomainStates');
    return [...this.domains.entries()].map(([uuid, state]) => ({ uuid, name: `mc-${uuid}`, state }));
  }
  async domainState(vmId: string): Promise<DomainState> {
    this.maybeFail('domainState');
    return this.domains.get(vmId) ?? 'absent';
  }
  async consoleTail(): Promise<string[]> {
    return ['MINICLOUD-GUEST BOOTED hostname=x'];
  }
  async vmDiskInfo(vmId: string, storage: 'local' | 'shared' = 'local'): Promise<QemuImgInfo | undefined> {
    this.calls.push(`vmDiskInfo ${vmId}${storage === 'shared' ? ' shared' : ''}`);
    this.maybeFail('vmDiskInfo');
    const d = (storage === 'shared' ? this.sharedDisks : this.disks).get(vmId);
    return d ? { ...d } : undefined;
  }
  async pathExists(path: string): Promise<boolean> {
    this.maybeFail('pathExists');
    const m = /^\/var\/lib\/minicloud\/vms\/([^/]+)(?:\/(.+))?$/.exec(path);
    if (m && !m[2] && this.vmDirs.has(m[1])) return true;
    if (m && m[2] === 'disk.qcow2' && this.disks.has(m[1])) return true;
    if (m && m[2] && this.vmFiles.has(`${m[1]}/${m[2]}`)) return true;
    const shared = /^\/var\/lib\/minicloud\/shared\/vms\/([^/]+)\/disk\.qcow2$/.exec(path);
    if (shared && this.sharedDisks.has(shared[1])) return true;
    return this.cache.has(path) || this.extraPaths.has(path);
  }
  async ensureVmDir(vmId: string): Promise<void> {
    this.calls.push(`ensureVmDir ${vmId}`);
    this.vmDirs.add(vmId);
  }
  async createVmDiskOverlay(vmId: string, backing: { path: string; format: 'qcow2' | 'raw' }, sizeBytes: number): Promise<boolean> {
    this.calls.push(`createVmDiskOverlay ${vmId} ${backing.path} ${sizeBytes}`);
    this.maybeFail('createVmDiskOverlay');
    if (this.disks.has(vmId)) return false;
    this.disks.set(vmId, { format: 'qcow2', virtualSizeBytes: sizeBytes, backingFile: backing.path, backingFormat: backing.format });
    return true;
  }
  async vmFileChecksum(vmId: string, name: VmFileName): Promise<string | undefined> {
    const f = this.vmFiles.get(`${vmId}/${name}`);
    return f ? createHash('sha256').update(f).digest('hex') : undefined;
  }
  async readVmFile(vmId: string, name: VmFileName): Promise<Buffer | undefined> {
    this.calls.push(`readVmFile ${vmId} ${name}`);
    this.maybeFail('readVmFile');
    return this.vmFiles.get(`${vmId}/${name}`);
  }
  async writeVmFile(vmId: string, name: VmFileName, data: Buffer): Promise<void> {
    this.calls.push(`writeVmFile ${vmId} ${name}`);
    this.maybeFail('writeVmFile');
    this.vmFiles.set(`${vmId}/${name}`, Buffer.from(data));
  }
}
