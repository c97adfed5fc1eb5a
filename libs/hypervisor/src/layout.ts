/** Where the platform keeps its files on a host. */
export const HOST_ROOT = '/var/lib/minicloud';
export const IMAGES_DIR = `${HOST_ROOT}/images`;
export const VMS_DIR = `${HOST_ROOT}/vms`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SHA256 = /^[a-f0-9]{64}$/;

export function assertVmId(vmId: string): string {
  if (!UUID.test(vmId)) throw new Error(`vm id must be a lower-case UUID, got ${JSON.stringify(vmId)}`);
  return vmId;
}

export function assertChecksum(sum: string): string {
  if (!SHA256.test(sum)) throw new Error(`checksum must be 64 lower-case hex digits, got ${JSON.stringify(sum)}`);
  return sum;
}

export type ImageExt = 'qcow2' | 'raw' | 'vmlinuz' | 'initrd';

export function imagePath(checksum: string, ext: ImageExt): string {
  return `${IMAGES_DIR}/${assertChecksum(checksum)}.${ext}`;
}

export function domainName(vmId: string): string {
  return `mc-${assertVmId(vmId)}`;
}

export function vmDir(vmId: string): string {
  return `${VMS_DIR}/${assertVmId(vmId)}`;
}

export const vmDiskPath = (vmId: string) => `${vmDir(vmId)}/disk.qcow2`;
export const vmDomainXmlPath = (vmId: string) => `${vmDir(vmId)}/domain.xml`;
export const vmConsoleLogPath = (vmId: string) => `${vmDir(vmId)}/console.log`;
export const vmSeedIsoPath = (vmId: string) => `${vmDir(vmId)}/seed.iso`;

/** Files of a VM's directory the platform copies between hosts (migration). */
export const VM_FILES = ['seed.iso'] as const;
export type VmFileName = (typeof VM_FILES)[number];

export function vmFilePath(vmId: string, name: VmFileName): string {
  if (!VM_FILES.includes(name)) throw new Error(`not a VM file the platform copies: ${JSON.stringify(name)}`);
  return `${vmDir(vmId)}/${name}`;
}

const IMAGE_CACHE_PATH = /^\/var\/lib\/minicloud\/images\/[a-f0-9]{64}\.(qcow2|raw)$/;

/** A template in the host's image cache (`images/<sha256>.qcow2|raw`), e.g. a disk's backing file read from a host. */
export function assertImageCachePath(path: string): string {
  if (!IMAGE_CACHE_PATH.test(path)) throw new Error(`not an image in the host cache (${IMAGES_DIR}/<sha256>.qcow2|raw): ${JSON.stringify(path)}`);
  return path;
}

/** An absolute path under the platform's root on a host, without `..` segments or control characters. */
export function assertHostPath(path: string): string {
  const ok = path.startsWith(`${HOST_ROOT}/`) && !path.split('/').some((s) => s === '..' || s === '.') && !/[\x00-\x1f\x7f]/.test(path);
  if (!ok) throw new Error(`not a platform path under ${HOST_ROOT}: ${JSON.stringify(path)}`);
  return path;
}
