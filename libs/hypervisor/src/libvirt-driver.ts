import { createHash, randomBytes } from 'crypto';
import { statSync } from 'fs';
import type { HostFacts } from '@minicloud/contracts';
import { cmd } from './commands';
import { buildDomainXml } from './domain-xml';
import { cleanToolError, HypervisorError, ImageVerificationError, NotAHypervisorHostError } from './errors';
import {
  assertImageCachePath,
  assertVmId,
  domainName,
  imagePath,
  ImageExt,
  IMAGES_DIR,
  sharedDatastoreMarkerPath,
  vmConsoleLogPath,
  vmDir,
  VmDiskStorage,
  vmDiskPath,
  vmDiskPathFor,
  vmSharedDir,
  vmDomainXmlPath,
  VmFileName,
  vmFilePath,
  vmSeedIsoPath,
} from './layout';
import {
  isNoSuchDomain,
  parseCpuModelName,
  parseDf,
  parseDomstate,
  parseFileSize,
  parseNodeinfo,
  parseNproc,
  parseQemuImgInfo,
  QemuImgInfo,
  parseVirshListTable,
  parseSha256sum,
  parseUnameMachine,
  parseVirshList,
  parseVirshVersion,
} from './parsers';
import type { CreatedVm, DomainInfo, DomainState, EnsureImageResult, Executor, HypervisorDriver, ImageFile, ImageFiles, RebootOutcome, VmSpec } from './types';

const GiB = 1024 ** 3;

export interface LibvirtDriverOptions {
  /** Timeout for quick commands (virsh state, mkdir...). */
  commandTimeoutMs?: number;
  /** Timeout for sha256sum / qemu-img on big files. */
  slowCommandTimeoutMs?: number;
}

/** The libvirt + QEMU driver, executing every step on its host through an Executor (ssh). */
export class LibvirtDriver implements HypervisorDriver {
  private readonly t: number;
  private readonly slow: number;

  constructor(
    private readonly x: Executor,
    o: LibvirtDriverOptions = {},
  ) {
    this.t = o.commandTimeoutMs ?? 60_000;
    this.slow = o.slowCommandTimeoutMs ?? 300_000;
  }

  /** Runs argv; a non-zero exit becomes HypervisorError with the tool's own text. Transport errors pass through. */
  private async run(argv: string[], opts: { timeoutMs?: number; stdin?: string | Buffer } = {}): Promise<string> {
    const r = await this.x.exec(argv, { timeoutMs: opts.timeoutMs ?? this.t, stdin: opts.stdin, check: false });
    if (r.code !== 0) throw new HypervisorError(argv.slice(0, argv[0] === 'virsh' ? 4 : 1).join(' '), r.code, r.stderr || r.stdout);
    return r.stdout;
  }

  async discover(): Promise<HostFacts> {
    const ver = await this.x.exec(cmd.virshVersion(), { timeoutMs: this.t, check: false });
    if (ver.code !== 0) {
      throw new NotAHypervisorHostError(`not a libvirt host: "virsh -c qemu:///system version" failed: ${cleanToolError(ver.stderr || ver.stdout) || `exit ${ver.code}`}`);
    }
    let versions: { libvirtVersion: string; hypervisorVersion: string };
    try {
      versions = parseVirshVersion(ver.stdout);
    } catch (e) {
      throw new NotAHypervisorHostError(`not a libvirt host: ${(e as Error).message}`);
    }
    await this.run(cmd.prepareHostDirs());
    const [nproc, arch, model, node, df, sharedStorage] = await Promise.all([
      this.run(cmd.nproc()),
      this.run(cmd.unameMachine()),
      this.x.exec(cmd.cpuModelName(), { timeoutMs: this.t, check: false }),
      this.run(cmd.virshNodeinfo()),
      this.run(cmd.df(IMAGES_DIR)),
      this.pathExists(sharedDatastoreMarkerPath()),
    ]);
    const nodeinfo = parseNodeinfo(node);
    // Not every architecture has "model name" in /proc/cpuinfo: fall back to libvirt's CPU model then.
    const cpuModel = model.code === 0 ? parseCpuModelName(model.stdout) : nodeinfo.cpuModel;
    return {
      cpus: parseNproc(nproc),
      cpuModel,
      memoryMiB: Math.floor(nodeinfo.memoryKiB / 1024),
      diskGiB: Math.floor(parseDf(df).sizeBytes / GiB),
      arch: parseUnameMachine(arch),
      hypervisorVersion: versions.hypervisorVersion,
      libvirtVersion: versions.libvirtVersion,
      sharedStorage,
    };
  }

  async ensureImage(image: ImageFiles, opts: { trusted?: boolean } = {}): Promise<EnsureImageResult> {
    await this.run(cmd.mkdirs(IMAGES_DIR));
    const uploaded: string[] = [];
    const one = async (f: ImageFile, ext: ImageExt) => {
      const remote = imagePath(f.checksum, ext);
      if (await this.hasFile(f, remote, !!opts.trusted)) return remote;
      await this.x.upload(f.localPath, remote);
      const sum = parseSha256sum(await this.run(cmd.sha256sum(remote), { timeoutMs: this.slow }));
      if (sum !== f.checksum) {
        await this.run(cmd.removeFile(remote)).catch(() => undefined);
        throw new ImageVerificationError(`uploaded ${f.localPath} but the host computed sha256 ${sum}, expected ${f.checksum}; removed it`);
      }
      uploaded.push(remote);
      return remote;
    };
    const disk = await one(image.disk, image.disk.format);
    const kernel = image.kernel ? await one(image.kernel, 'vmlinuz') : undefined;
    const initrd = image.initrd ? await one(image.initrd, 'initrd') : undefined;
    return { paths: { disk, kernel, initrd }, uploaded };
  }

  /** Present and intact? Trusted (verified before): the size must match; otherwise the host's sha256 must. */
  private async hasFile(f: ImageFile, remote: string, trusted: boolean): Promise<boolean> {
    if (trusted) {
      const r = await this.x.exec(cmd.fileSize(remote), { timeoutMs: this.t, check: false });
      if (r.code === 0 && parseFileSize(r.stdout) === statSync(f.localPath).size) return true;
    }
    const r = await this.x.exec(cmd.sha256sum(remote), { timeoutMs: this.slow, check: false });
    if (r.code !== 0) return false;
    if (parseSha256sum(r.stdout) === f.checksum) return true;
    await this.run(cmd.removeFile(remote)); // a corrupt or partial copy: replace it
    return false;
  }

  async createVm(spec: VmSpec, opts: { start?: boolean } = {}): Promise<CreatedVm> {
    const id = assertVmId(spec.vmId);
    const xml = buildDomainXml({ ...spec, seedIsoPath: spec.seedIsoLocalPath ? vmSeedIsoPath(id) : spec.seedIsoPath });
    if ((await this.domainState(id)) !== 'absent') {
      throw new HypervisorError('virsh define', null, '', `domain ${domainName(id)} already exists on the host; delete it first`);
    }
    const sizeBytes = Math.max(spec.diskGiB * GiB, spec.image.virtualSizeBytes);
    const storage = spec.storage ?? 'local';
    const diskPath = vmDiskPathFor(id, storage);
    let defined = false;
    try {
      await this.run(cmd.mkdirs(vmDir(id)));
      if (storage === 'shared') await this.run(cmd.mkdirs(vmSharedDir(id)));
      if (spec.seedIsoLocalPath) await this.x.upload(spec.seedIsoLocalPath, vmSeedIsoPath(id));
      // A shared disk left by a crashed earlier build of this (not yet running) VM is replaced: it holds no data yet.
      await this.run(cmd.qemuImgOverlay(spec.image.paths.disk, spec.image.format, diskPath, sizeBytes), { timeoutMs: this.slow });
      const disk = parseQemuImgInfo(await this.run(cmd.qemuImgInfo(diskPath)));
      if (disk.virtualSizeBytes !== sizeBytes) {
        throw new HypervisorError('qemu-img create', null, '', `the new disk's virtual size is ${disk.virtualSizeBytes} bytes, expected ${sizeBytes}`);
      }
      await this.run(cmd.writeStdinTo(vmDomainXmlPath(id)), { stdin: xml });
      await this.run(cmd.virshDefine(vmDomainXmlPath(id)));
      defined = true;
      if (opts.start ?? true) await this.run(cmd.virshStart(id));
    } catch (err) {
      // Roll back what this call made: the domain (stopped first), then the VM's directory.
      if (defined) {
        await this.x.exec(cmd.virshDestroy(id), { timeoutMs: this.t, check: false }).catch(() => undefined);
        await this.x.exec(cmd.virshUndefine(id), { timeoutMs: this.t, check: false }).catch(() => undefined);
      }
      await this.x.exec(cmd.removeVmDir(id), { timeoutMs: this.t, check: false }).catch(() => undefined);
      if (storage === 'shared') await this.x.exec(cmd.removeSharedVmDir(id), { timeoutMs: this.t, check: false }).catch(() => undefined);
      throw err;
    }
    return { domainName: domainName(id), vmDir: vmDir(id), diskPath };
  }

  async startVm(vmId: string): Promise<void> {
    if ((await this.domainState(vmId)) === 'running') return;
    await this.run(cmd.virshStart(vmId));
  }

  async stopVm(vmId: string, opts: { force?: boolean } = {}): Promise<void> {
    if (opts.force) return this.destroyVm(vmId);
    const s = await this.domainState(vmId);
    if (s === 'shutoff' || s === 'absent') return;
    await this.run(cmd.virshShutdown(vmId));
  }

  async destroyVm(vmId: string): Promise<void> {
    const r = await this.x.exec(cmd.virshDestroy(vmId), { timeoutMs: this.t, check: false });
    if (r.code === 0 || isNoSuchDomain(r.stderr) || /domain is not running/i.test(r.stderr)) return;
    throw new HypervisorError('virsh destroy', r.code, r.stderr);
  }

  async deleteVm(vmId: string, opts: { removeSharedDisk?: boolean } = {}): Promise<void> {
    await this.destroyVm(vmId);
    const r = await this.x.exec(cmd.virshUndefine(vmId), { timeoutMs: this.t, check: false });
    if (r.code !== 0 && !isNoSuchDomain(r.stderr)) throw new HypervisorError('virsh undefine', r.code, r.stderr);
    await this.run(cmd.removeVmDir(vmId));
    if (opts.removeSharedDisk) await this.run(cmd.removeSharedVmDir(vmId));
  }

  async suspendVm(vmId: string): Promise<void> {
    if ((await this.domainState(vmId)) === 'paused') return;
    await this.run(cmd.virshSuspend(vmId));
  }

  async resumeVm(vmId: string): Promise<void> {
    if ((await this.domainState(vmId)) === 'running') return;
    await this.run(cmd.virshResume(vmId));
  }

  /**
   * ACPI reboot, watched through libvirt's reboot event (the listener is started first and given a few seconds to
   * register; on a very busy host it may still register late and miss the event); a guest that does not report a
   * reboot within timeoutSec is reset, so the VM is rebooted either way.
   */
  async rebootVm(vmId: string, opts: { timeoutSec?: number; listenerDelayMs?: number } = {}): Promise<RebootOutcome> {
    const timeoutSec = opts.timeoutSec ?? 30;
    const watch = this.x.exec(cmd.virshWaitRebootEvent(vmId, timeoutSec), { timeoutMs: (timeoutSec + 30) * 1000, check: false });
    watch.catch(() => undefined);
    // Let the listener register (ssh channel + libvirt connection) before the guest is asked.
    await new Promise((r) => setTimeout(r, opts.listenerDelayMs ?? 3000));
    await this.run(cmd.virshReboot(vmId));
    const w = await watch.catch(() => undefined);
    if (w && w.code === 0 && /event 'reboot'/.test(w.stdout)) return 'acpi';
    await this.run(cmd.virshReset(vmId));
    return 'reset';
  }

  async listDomainStates(): Promise<(DomainInfo & { state: DomainState })[]> {
    const [ids, table] = await Promise.all([this.run(cmd.virshList()), this.run(cmd.virshListTable())]);
    const states = new Map(parseVirshListTable(table).map((d) => [d.name, d.state]));
    // A domain that vanished between the two listings is simply absent from the result.
    return parseVirshList(ids).flatMap((d) => (states.has(d.name) ? [{ ...d, state: states.get(d.name)! }] : []));
  }

  async listDomains(): Promise<DomainInfo[]> {
    return parseVirshList(await this.run(cmd.virshList()));
  }

  async domainState(vmId: string): Promise<DomainState> {
    const r = await this.x.exec(cmd.virshDomstate(vmId), { timeoutMs: this.t, check: false });
    if (r.code !== 0) {
      if (isNoSuchDomain(r.stderr)) return 'absent';
      throw new HypervisorError('virsh domstate', r.code, r.stderr);
    }
    return parseDomstate(r.stdout);
  }

  async consoleTail(vmId: string, lines: number): Promise<string[]> {
    const r = await this.x.exec(cmd.tail(vmConsoleLogPath(vmId), lines), { timeoutMs: this.t, check: false });
    if (r.code !== 0) {
      if (/No such file/i.test(r.stderr)) throw new HypervisorError('tail', r.code, r.stderr, `VM ${vmId} has no console log on its host (not created here, or deleted)`);
      throw new HypervisorError('tail', r.code, r.stderr);
    }
    const out = r.stdout.replace(/\r/g, '').split('\n');
    if (out.length && out[out.length - 1] === '') out.pop();
    return out;
  }

  async vmDiskInfo(vmId: string, storage: VmDiskStorage = 'local'): Promise<QemuImgInfo | undefined> {
    const path = vmDiskPathFor(vmId, storage);
    if (!(await this.pathExists(path))) return undefined;
    return parseQemuImgInfo(await this.run(cmd.qemuImgInfoShared(path)));
  }

  async pathExists(path: string): Promise<boolean> {
    const r = await this.x.exec(cmd.pathExists(path), { timeoutMs: this.t, check: false });
    if (r.code === 0) return true;
    if (r.code === 1 && !r.stderr.trim()) return false;
    throw new HypervisorError('test -e', r.code, r.stderr);
  }

  async ensureVmDir(vmId: string): Promise<void> {
    await this.run(cmd.mkdirs(vmDir(vmId)));
  }

  async createVmDiskOverlay(vmId: string, backing: { path: string; format: 'qcow2' | 'raw' }, sizeBytes: number): Promise<boolean> {
    const disk = vmDiskPath(vmId);
    const template = assertImageCachePath(backing.path);
    if (backing.format !== 'qcow2' && backing.format !== 'raw') throw new Error(`bad backing format ${JSON.stringify(backing.format)}`);
    if (await this.pathExists(disk)) return false;
    // Made under a temporary name, then hard-linked to the real name: a disk that appeared meanwhile is never replaced.
    const tmp = `${vmDir(vmId)}/.disk.qcow2.${randomBytes(6).toString('hex')}.part`;
    try {
      await this.run(cmd.qemuImgOverlay(template, backing.format, tmp, sizeBytes), { timeoutMs: this.slow });
      const made = parseQemuImgInfo(await this.run(cmd.qemuImgInfo(tmp)));
      if (made.virtualSizeBytes !== sizeBytes) {
        throw new HypervisorError('qemu-img create', null, '', `the new disk's virtual size is ${made.virtualSizeBytes} bytes, expected ${sizeBytes}`);
      }
      const link = await this.x.exec(cmd.linkNoClobber(tmp, disk), { timeoutMs: this.t, check: false });
      if (link.code !== 0) {
        if (/File exists/i.test(link.stderr)) return false;
        throw new HypervisorError('ln', link.code, link.stderr);
      }
      return true;
    } finally {
      await this.x.exec(cmd.removeFile(tmp), { timeoutMs: this.t, check: false }).catch(() => undefined);
    }
  }

  async vmFileChecksum(vmId: string, name: VmFileName): Promise<string | undefined> {
    const path = vmFilePath(vmId, name);
    if (!(await this.pathExists(path))) return undefined;
    return parseSha256sum(await this.run(cmd.sha256sum(path), { timeoutMs: this.slow }));
  }

  async readVmFile(vmId: string, name: VmFileName): Promise<Buffer | undefined> {
    const path = vmFilePath(vmId, name);
    if (!(await this.pathExists(path))) return undefined;
    const b64 = (await this.run(cmd.base64File(path), { timeoutMs: this.slow })).trim();
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw new HypervisorError('base64', null, '', `base64 of ${path} is not base64 (${b64.length} characters)`);
    return Buffer.from(b64, 'base64');
  }

  async writeVmFile(vmId: string, name: VmFileName, data: Buffer): Promise<void> {
    const path = vmFilePath(vmId, name);
    const tmp = `${vmDir(vmId)}/.${name}.${randomBytes(6).toString('hex')}.part`;
    const want = createHash('sha256').update(data).digest('hex');
    try {
      await this.run(cmd.writeStdinTo(tmp), { stdin: data, timeoutMs: this.slow });
      const got = parseSha256sum(await this.run(cmd.sha256sum(tmp), { timeoutMs: this.slow }));
      if (got !== want) throw new ImageVerificationError(`wrote ${data.length} bytes to ${tmp} but the host computed sha256 ${got}, expected ${want}`);
      await this.run(cmd.moveFile(tmp, path));
    } finally {
      await this.x.exec(cmd.removeFile(tmp), { timeoutMs: this.t, check: false }).catch(() => undefined);
    }
  }
}
