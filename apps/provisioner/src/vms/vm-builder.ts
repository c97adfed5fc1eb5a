import type { VmResources, VmStorageKind } from '@minicloud/contracts';
import { HypervisorDriver, HypervisorError, ImageFile } from '@minicloud/hypervisor';
import { isTransientError, isTransientText, retry, RetryOptions } from '@minicloud/ssh';

export interface BuildImage {
  format: 'qcow2' | 'raw';
  virtualSizeBytes: number;
  cmdline?: string;
  disk: ImageFile;
  kernel?: ImageFile;
  initrd?: ImageFile;
}

export interface BuildRequest {
  vmId: string;
  name: string;
  resources: VmResources;
  image: BuildImage;
  /** Checksums the host's cache held (verified) according to our records. */
  cachedChecksums: Set<string>;
  /** The cloud-init seed ISO on the controller: uploaded into the VM's directory and attached. */
  seedIsoLocalPath?: string;
  /** Where the disk lives (default local); a shared disk goes on the shared datastore. */
  storage?: VmStorageKind;
}

export interface BuildResult {
  /** The domain was already running (built by an earlier delivery that did not get to record it). */
  adopted: boolean;
  /** Remote paths uploaded this time. */
  uploaded: string[];
  /** Every image file now verified in the host's cache. */
  hostFiles: { checksum: string; remotePath: string }[];
}

/** Worth another attempt: the host went away for a moment, or libvirt was busy. */
export function isTransientBuildError(err: unknown): boolean {
  return isTransientError(err) || (err instanceof HypervisorError && isTransientText(err.stderr));
}

/**
 * Builds one VM on one host, idempotently: image files into the host's cache (once), then either adopt a
 * domain that is already running, or clean away whatever a crashed earlier attempt left (a defined but
 * stopped domain, a partial directory) and create + start it afresh. Transient errors are retried with backoff.
 */
export class VmBuilder {
  constructor(
    private readonly driver: HypervisorDriver,
    private readonly retryOptions: RetryOptions = {},
  ) {}

  async build(req: BuildRequest): Promise<BuildResult> {
    return retry(() => this.attempt(req), { attempts: 3, baseDelayMs: 1000, isTransient: isTransientBuildError, ...this.retryOptions });
  }

  private async attempt(req: BuildRequest): Promise<BuildResult> {
    const img = req.image;
    const files = [img.disk, img.kernel, img.initrd].filter((f): f is ImageFile => !!f);
    const trusted = files.every((f) => req.cachedChecksums.has(f.checksum));
    const ensured = await this.driver.ensureImage(
      { disk: { ...img.disk, format: img.format, virtualSizeBytes: img.virtualSizeBytes }, kernel: img.kernel, initrd: img.initrd },
      { trusted },
    );
    const hostFiles = [
      { checksum: img.disk.checksum, remotePath: ensured.paths.disk },
      ...(img.kernel && ensured.paths.kernel ? [{ checksum: img.kernel.checksum, remotePath: ensured.paths.kernel }] : []),
      ...(img.initrd && ensured.paths.initrd ? [{ checksum: img.initrd.checksum, remotePath: ensured.paths.initrd }] : []),
    ];
    const state = await this.driver.domainState(req.vmId);
    if (state === 'running') return { adopted: true, uploaded: ensured.uploaded, hostFiles };
    // Anything else left from an earlier attempt is removed, so the VM is always built from a clean slate.
    await this.driver.deleteVm(req.vmId);
    await this.driver.createVm(
      {
        vmId: req.vmId,
        name: req.name,
        vcpus: req.resources.vcpus,
        memoryMiB: req.resources.memoryMiB,
        diskGiB: req.resources.diskGiB,
        image: { format: img.format, virtualSizeBytes: img.virtualSizeBytes, paths: ensured.paths, cmdline: img.cmdline },
        seedIsoLocalPath: req.seedIsoLocalPath,
        storage: req.storage ?? 'local',
      },
      { start: true },
    );
    const after = await this.driver.domainState(req.vmId);
    if (after !== 'running') {
      // Left defined (not deleted) so its console log can tell why; the next build attempt cleans it away.
      throw new HypervisorError('virsh start', null, '', `the domain is "${after}" right after starting it (it stopped or crashed at once; see its console log)`);
    }
    return { adopted: false, uploaded: ensured.uploaded, hostFiles };
  }
}

