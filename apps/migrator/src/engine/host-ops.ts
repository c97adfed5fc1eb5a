import { ADDRESS_PATTERN, SSH_USER_PATTERN } from '@minicloud/contracts';
import {
  cmd,
  DomainState,
  Executor,
  ExecResult,
  jobCompletedEventCommands,
  LibvirtDriver,
  MigrationJobInfo,
  parseDirtyRate,
  parseDomjobinfo,
  parseJobCompletedEvent,
  virshDomdirtyrateCalc,
  virshDomjobabort,
  virshDomjobinfo,
  virshDomstatsDirtyrate,
  virshMigrate,
  virshMigratePostcopy,
  virshMigrateSetMaxDowntime,
  VirshMigrateOptions,
  vmDiskPath,
  assertVmId,
} from '@minicloud/hypervisor';

/** A host as the migrator reaches it. */
export interface HostRef {
  id: string;
  name: string;
  address: string;
  sshPort: number;
  sshUser: string;
}

/** A listener for one domain's job-completed event (see HostOps.watchJobCompleted). */
export interface JobCompletedWatch {
  /** The completed job's statistics from the event; null when none came (failed or aborted job, stopped, timed out). */
  result: Promise<MigrationJobInfo | null>;
  /** Ends the listener (it does not wait for `result`). */
  stop(): Promise<void>;
}

/** What the migration engine does on one host. Every command is argv (the ssh lib quotes each argument). */
export interface HostOps {
  domainState(vmId: string): Promise<DomainState>;
  /** The running job (or the last completed one with `completed`); null when there is none. */
  jobInfo(vmId: string, completed?: boolean): Promise<MigrationJobInfo | null>;
  /**
   * Starts listening for the domain's job-completed event here (on a migration's source, before the job starts):
   * after a post-copy switch it is the only place the completed job's figures exist. Ends by itself after `timeoutS`.
   */
  watchJobCompleted(vmId: string, timeoutS: number): JobCompletedWatch;
  /** libvirt's dirty-rate sampling (MiB/s); undefined when the host cannot measure it. */
  dirtyRateMiBs(vmId: string, seconds: number): Promise<number | undefined>;
  /** Runs `virsh migrate` to the end (it returns when libvirt finished, failed or was aborted). */
  migrate(vmId: string, opts: VirshMigrateOptions, timeoutMs: number): Promise<ExecResult>;
  abortJob(vmId: string): Promise<void>;
  setMaxDowntime(vmId: string, ms: number): Promise<void>;
  switchToPostcopy(vmId: string): Promise<void>;
  resume(vmId: string): Promise<void>;
  /** Destroys and undefines the VM's domain here; `removeFiles` also removes its host-local directory (a shared-datastore disk stays). */
  removeDomain(vmId: string, removeFiles: boolean): Promise<void>;
  /** Copies the VM's disk to the same path on `target`, host to host (cold moves of copied storage). */
  copyDiskTo(vmId: string, target: HostRef, timeoutMs: number): Promise<void>;
}

/** HostOps on a libvirt host over SSH. */
export class LibvirtHostOps implements HostOps {
  private readonly driver: LibvirtDriver;

  constructor(private readonly x: Executor) {
    this.driver = new LibvirtDriver(x);
  }

  domainState(vmId: string): Promise<DomainState> {
    return this.driver.domainState(vmId);
  }

  async jobInfo(vmId: string, completed = false): Promise<MigrationJobInfo | null> {
    const r = await this.x.exec(virshDomjobinfo(vmId, { completed }), { timeoutMs: 10_000 });
    if (r.code !== 0) return null;
    return parseDomjobinfo(r.stdout);
  }

  watchJobCompleted(vmId: string, timeoutS: number): JobCompletedWatch {
    const c = jobCompletedEventCommands(vmId, timeoutS);
    const result = this.x
      .exec(c.watch, { timeoutMs: (timeoutS + 30) * 1000 })
      .then((r) => parseJobCompletedEvent(r.stdout))
      .catch(() => null);
    return {
      result,
      stop: async () => {
        await this.x.exec(c.stop, { timeoutMs: 10_000 }).catch(() => undefined);
      },
    };
  }

  async dirtyRateMiBs(vmId: string, seconds: number): Promise<number | undefined> {
    if (seconds <= 0) return undefined;
    const calc = await this.x.exec(virshDomdirtyrateCalc(vmId, seconds), { timeoutMs: 10_000 + seconds * 1000 });
    if (calc.code !== 0) return undefined;
    // The calculation runs in the background for `seconds`; read the result once it is measured.
    const end = Date.now() + seconds * 1000 + 5000;
    await new Promise((r) => setTimeout(r, seconds * 1000));
    while (Date.now() < end) {
      const r = await this.x.exec(virshDomstatsDirtyrate(vmId), { timeoutMs: 10_000 });
      const v = r.code === 0 ? parseDirtyRate(r.stdout) : undefined;
      if (v && v.status === 'measured') return v.megabytesPerSecond;
      await new Promise((res) => setTimeout(res, 250));
    }
    return undefined;
  }

  migrate(vmId: string, opts: VirshMigrateOptions, timeoutMs: number): Promise<ExecResult> {
    return this.x.exec(virshMigrate(vmId, opts), { timeoutMs });
  }

  async abortJob(vmId: string): Promise<void> {
    await this.x.exec(virshDomjobabort(vmId), { timeoutMs: 15_000 });
  }

  async setMaxDowntime(vmId: string, ms: number): Promise<void> {
    await this.x.exec(virshMigrateSetMaxDowntime(vmId, ms), { timeoutMs: 10_000 });
  }

  async switchToPostcopy(vmId: string): Promise<void> {
    await this.x.exec(virshMigratePostcopy(vmId), { timeoutMs: 10_000, check: true });
  }

  async resume(vmId: string): Promise<void> {
    await this.x.exec(cmd.virshResume(vmId), { timeoutMs: 15_000 });
  }

  async removeDomain(vmId: string, removeFiles: boolean): Promise<void> {
    // The host-local VM directory only: a disk on the shared datastore is the VM's wherever it runs.
    if (removeFiles) return this.driver.deleteVm(vmId, { removeSharedDisk: false });
    await this.x.exec(cmd.virshDestroy(vmId), { timeoutMs: 30_000 });
    await this.x.exec(cmd.virshUndefine(vmId), { timeoutMs: 30_000 });
  }

  async copyDiskTo(vmId: string, target: HostRef, timeoutMs: number): Promise<void> {
    if (!ADDRESS_PATTERN.test(target.address)) throw new Error(`invalid target address ${JSON.stringify(target.address)}`);
    if (!SSH_USER_PATTERN.test(target.sshUser)) throw new Error(`invalid target ssh user ${JSON.stringify(target.sshUser)}`);
    const disk = vmDiskPath(assertVmId(vmId));
    // Host to host, with the hosts' own keys (the same trust `virsh migrate --p2p` over qemu+ssh uses).
    await this.x.exec(
      ['scp', '-q', '-o', 'BatchMode=yes', '-P', String(target.sshPort), disk, `${target.sshUser}@${target.address}:${disk}`],
      { timeoutMs, check: true },
    );
  }
}

