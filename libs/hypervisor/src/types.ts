import type { HostFacts } from '@minicloud/contracts';
import type { VmDiskStorage, VmFileName } from './layout';
import type { QemuImgInfo } from './parsers';

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number | null;
  signal?: string;
}

/** How the driver reaches its host: an SshPool bound to one host, or a fake in tests. Always argv, never a shell line. */
export interface Executor {
  exec(argv: string[], opts?: { timeoutMs?: number; stdin?: string | Buffer; check?: boolean }): Promise<ExecResult>;
  upload(localPath: string, remotePath: string): Promise<void>;
}

export interface ImageFile {
  /** sha256 (hex) of the file: its name in the host cache. */
  checksum: string;
  localPath: string;
}

export interface ImageFiles {
  disk: ImageFile & { format: 'qcow2' | 'raw'; virtualSizeBytes: number };
  kernel?: ImageFile;
  initrd?: ImageFile;
}

export interface HostImagePaths {
  disk: string;
  kernel?: string;
  initrd?: string;
}

export interface EnsureImageResult {
  paths: HostImagePaths;
  /** Files that had to be uploaded (empty when the host already had them). */
  uploaded: string[];
}

export interface VmSpec {
  vmId: string;
  /** The VM's name (domain title); the domain itself is named mc-<vmId>. */
  name: string;
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
  image: { format: 'qcow2' | 'raw'; virtualSizeBytes: number; paths: HostImagePaths; cmdline?: string };
  /** Optional seed ISO (cloud-init) already on the host (domain XML only; createVm sets it from seedIsoLocalPath). */
  seedIsoPath?: string;
  /** A seed ISO on the controller: createVm uploads it into the VM's directory (seed.iso) and attaches it. */
  seedIsoLocalPath?: string;
  /** Where the disk lives (default `local`): `shared` puts it on the shared datastore (vmSharedDiskPath). */
  storage?: VmDiskStorage;
}

/** How a reboot went: the guest honoured the ACPI request, or it was reset after ignoring it. */
export type RebootOutcome = 'acpi' | 'reset';

/** libvirt domain states, normalised; `absent` = no such domain on the host. */
export type DomainState = 'running' | 'blocked' | 'paused' | 'shutdown' | 'shutoff' | 'crashed' | 'pmsuspended' | 'nostate' | 'absent';

export interface DomainInfo {
  uuid: string;
  name: string;
}

export interface CreatedVm {
  domainName: string;
  vmDir: string;
  diskPath: string;
}

/**
 * What the platform needs from a hypervisor, in the style of OpenStack Nova's virt driver: one instance per
 * host, every operation idempotent where it can be (stop of a stopped VM, delete of a missing VM succeed).
 */
export interface HypervisorDriver {
  /** Host facts; throws NotAHypervisorHostError when the host cannot run VMs through this driver. */
  discover(): Promise<HostFacts>;
  /** Makes the image files present (and verified) in the host's cache. `trusted`: the caller's cache says they were verified before. */
  ensureImage(image: ImageFiles, opts?: { trusted?: boolean }): Promise<EnsureImageResult>;
  /** Linked clone, domain XML, define (and start unless told not to); removes what it made on failure. */
  createVm(spec: VmSpec, opts?: { start?: boolean }): Promise<CreatedVm>;
  startVm(vmId: string): Promise<void>;
  /** Graceful shutdown request (ACPI); `force` pulls the plug. */
  stopVm(vmId: string, opts?: { force?: boolean }): Promise<void>;
  /** Hard power-off. */
  destroyVm(vmId: string): Promise<void>;
  /**
   * Power-off, undefine, remove the VM's host-local directory. Succeeds when nothing is left to remove.
   * `removeSharedDisk` also removes the VM's directory on the shared datastore: only for deleting the VM itself,
   * never when cleaning up one host of a migration (the other host uses the same disk).
   */
  deleteVm(vmId: string, opts?: { removeSharedDisk?: boolean }): Promise<void>;
  /** Pause the domain's vCPUs (`virsh suspend`); `resumeVm` continues them. */
  suspendVm(vmId: string): Promise<void>;
  resumeVm(vmId: string): Promise<void>;
  /** `virsh reboot` (ACPI); when the guest does not reboot within `timeoutSec`, `virsh reset`. */
  rebootVm(vmId: string, opts?: { timeoutSec?: number }): Promise<RebootOutcome>;
  listDomains(): Promise<DomainInfo[]>;
  /** Every domain on the host with its uuid and state. */
  listDomainStates(): Promise<(DomainInfo & { state: DomainState })[]>;
  domainState(vmId: string): Promise<DomainState>;
  /** The last `lines` lines of the VM's serial console log. */
  consoleTail(vmId: string, lines: number): Promise<string[]>;

  // --- Putting a VM's files on a migration target (read on the source, written on the target) ---
  /** The VM's disk as `qemu-img info -U` sees it (readable while the domain runs); undefined when there is no disk. */
  vmDiskInfo(vmId: string, storage?: VmDiskStorage): Promise<QemuImgInfo | undefined>;
  /** Whether a platform path (under /var/lib/minicloud) exists on the host (`test -e`). */
  pathExists(path: string): Promise<boolean>;
  /** Creates the VM's directory (mkdir -p). */
  ensureVmDir(vmId: string): Promise<void>;
  /**
   * Creates the VM's disk as a qcow2 overlay on `backing` (a template in the image cache) of `sizeBytes`, never
   * over an existing file: returns false (and changes nothing) when a disk is already there.
   */
  createVmDiskOverlay(vmId: string, backing: { path: string; format: 'qcow2' | 'raw' }, sizeBytes: number): Promise<boolean>;
  /** sha256 of a file of the VM's directory; undefined when it does not exist. */
  vmFileChecksum(vmId: string, name: VmFileName): Promise<string | undefined>;
  /** A file of the VM's directory; undefined when it does not exist. */
  readVmFile(vmId: string, name: VmFileName): Promise<Buffer | undefined>;
  /** Writes a file into the VM's directory (temp name, verified by sha256 on the host, then renamed over). */
  writeVmFile(vmId: string, name: VmFileName, data: Buffer): Promise<void>;
}
