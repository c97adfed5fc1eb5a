import { assertHostPath, assertVmId, domainName, HOST_ROOT, IMAGES_DIR, SHARED_VMS_DIR, VMS_DIR } from './layout';

/** argv builders: the only commands the driver runs on a host. Paths come from layout.ts (validated ids). */
export const LIBVIRT_URI = 'qemu:///system';

export function virsh(...args: string[]): string[] {
  return ['virsh', '-c', LIBVIRT_URI, ...args];
}

export const cmd = {
  virshVersion: () => virsh('version'),
  virshNodeinfo: () => virsh('nodeinfo'),
  virshList: () => virsh('list', '--all', '--uuid', '--name'),
  virshDomstate: (vmId: string) => virsh('domstate', domainName(vmId)),
  virshDefine: (xmlPath: string) => virsh('define', xmlPath),
  virshStart: (vmId: string) => virsh('start', domainName(vmId)),
  virshShutdown: (vmId: string) => virsh('shutdown', domainName(vmId)),
  virshDestroy: (vmId: string) => virsh('destroy', domainName(vmId)),
  virshUndefine: (vmId: string) => virsh('undefine', domainName(vmId)),
  virshReboot: (vmId: string) => virsh('reboot', domainName(vmId)),
  virshReset: (vmId: string) => virsh('reset', domainName(vmId)),
  virshSuspend: (vmId: string) => virsh('suspend', domainName(vmId)),
  virshResume: (vmId: string) => virsh('resume', domainName(vmId)),
  /** Waits (up to timeoutSec) for the domain's next reboot event; prints "event 'reboot' for domain ..." when it came. */
  virshWaitRebootEvent: (vmId: string, timeoutSec: number) => {
    if (!Number.isInteger(timeoutSec) || timeoutSec < 1 || timeoutSec > 3600) throw new Error(`bad timeout ${timeoutSec}`);
    return virsh('event', '--domain', domainName(vmId), '--event', 'reboot', '--timeout', String(timeoutSec));
  },
  /** The table form (Id, Name, State) of every domain. */
  virshListTable: () => virsh('list', '--all'),
  nproc: () => ['nproc'],
  unameMachine: () => ['uname', '-m'],
  cpuModelName: () => ['grep', '-m', '1', '^model name', '/proc/cpuinfo'],
  df: (path: string) => ['df', '-B1', '--output=size,avail', path],
  mkdirs: (...paths: string[]) => ['mkdir', '-p', '--', ...paths],
  sha256sum: (path: string) => ['sha256sum', '--', path],
  fileSize: (path: string) => ['stat', '-c', '%s', '--', path],
  removeFile: (path: string) => ['rm', '-f', '--', path],
  /** Writes stdin to a file (no shell redirection needed). */
  writeStdinTo: (path: string) => ['cp', '/dev/stdin', path],
  qemuImgInfo: (path: string) => ['qemu-img', 'info', '--output=json', path],
  /** A linked clone: a qcow2 overlay on the cached template, sized in bytes. */
  qemuImgOverlay: (template: string, templateFormat: 'qcow2' | 'raw', disk: string, sizeBytes: number) => {
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0) throw new Error(`bad disk size ${sizeBytes}`);
    return ['qemu-img', 'create', '-f', 'qcow2', '-F', templateFormat, '-b', template, disk, String(sizeBytes)];
  },
  tail: (path: string, lines: number) => {
    if (!Number.isInteger(lines) || lines < 1 || lines > 100_000) throw new Error(`bad line count ${lines}`);
    return ['tail', '-n', String(lines), '--', path];
  },
  /** Removes one VM's directory; refuses anything but /var/lib/minicloud/vms/<uuid>. */
  removeVmDir: (vmId: string) => ['rm', '-rf', '--', `${VMS_DIR}/${assertVmId(vmId)}`],
  /** Removes one VM's directory on the shared datastore; refuses anything but <shared>/vms/<uuid>. */
  removeSharedVmDir: (vmId: string) => ['rm', '-rf', '--', `${SHARED_VMS_DIR}/${assertVmId(vmId)}`],
  prepareHostDirs: () => ['mkdir', '-p', '--', HOST_ROOT, IMAGES_DIR, VMS_DIR],
  /** `-U` (force share): readable while a running domain holds the image's write lock. */
  qemuImgInfoShared: (path: string) => ['qemu-img', 'info', '--output=json', '-U', assertHostPath(path)],
  /** Exit 0 when the path exists (platform paths only). */
  pathExists: (path: string) => ['test', '-e', assertHostPath(path)],
  /** A file's bytes as one line of base64 on stdout (exec output is text; binary must not pass through it raw). */
  base64File: (path: string) => ['base64', '-w', '0', '--', assertHostPath(path)],
  /** A hard link: fails ("File exists") instead of replacing an existing file — a no-clobber publish of a temp file. */
  linkNoClobber: (from: string, to: string) => ['ln', '--', assertHostPath(from), assertHostPath(to)],
  moveFile: (from: string, to: string) => ['mv', '-f', '--', assertHostPath(from), assertHostPath(to)],
};
