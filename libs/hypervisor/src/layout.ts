/** Where the platform keeps its files on a host. */
export const HOST_ROOT = '/var/lib/minicloud';
export const IMAGES_DIR = `${HOST_ROOT}/images`;
export const VMS_DIR = `${HOST_ROOT}/vms`;

/** Where every host mounts the shared datastore (NFS / a cluster file system) unless MINICLOUD_SHARED_STORAGE_DIR says otherwise. */
export const DEFAULT_SHARED_STORAGE_DIR = `${HOST_ROOT}/shared`;
/** The file that marks the shared datastore: a host whose `<shared dir>/.minicloud-datastore` exists has it. */
export const SHARED_DATASTORE_MARKER = '.minicloud-datastore';

/**
 * The shared datastore's path on every host (MINICLOUD_SHARED_STORAGE_DIR, default /var/lib/minicloud/shared): an
 * absolute, plain path (letters, digits, `._-/`, no `.`/`..` segments), at least two levels deep, never the platform's
 * root or its host-local image/VM directories.
 */
export function sharedStorageDir(env: Record<string, string | undefined> = process.env): string {
  const raw = env.MINICLOUD_SHARED_STORAGE_DIR?.trim() || DEFAULT_SHARED_STORAGE_DIR;
  const dir = raw.length > 1 ? raw.replace(/\/+$/, '') : raw;
  const segments = dir.split('/').slice(1);
  const plain = /^\/[A-Za-z0-9._/-]+$/.test(dir) && segments.length >= 2 && segments.every((s) => s !== '' && s !== '.' && s !== '..');
  const within = (d: string) => dir === d || dir.startsWith(`${d}/`);
  const clash = dir === HOST_ROOT || HOST_ROOT.startsWith(`${dir}/`) || within(IMAGES_DIR) || within(VMS_DIR);
  if (!plain || clash) {
    throw new Error(`MINICLOUD_SHARED_STORAGE_DIR must be an absolute plain path (at least two levels, not ${HOST_ROOT} itself, its images/ or vms/), got ${JSON.stringify(raw)}`);
  }
  return dir;
}

/** The shared datastore of this process (read once from the environment). */
export const SHARED_DIR = sharedStorageDir();
export const SHARED_VMS_DIR = `${SHARED_DIR}/vms`;
export const sharedDatastoreMarkerPath = () => `${SHARED_DIR}/${SHARED_DATASTORE_MARKER}`;

/** Where a VM's disk lives: `local` in the host's own VM directory, `shared` on the shared datastore. */
export type VmDiskStorage = 'local' | 'shared';

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

/** The VM's directory on the shared datastore (its disk only; console log and seed stay host-local). */
export function vmSharedDir(vmId: string): string {
  return `${SHARED_VMS_DIR}/${assertVmId(vmId)}`;
}

export const vmDiskPath = (vmId: string) => `${vmDir(vmId)}/disk.qcow2`;
export const vmSharedDiskPath = (vmId: string) => `${vmSharedDir(vmId)}/disk.qcow2`;

/** The VM's disk for its storage kind. */
export function vmDiskPathFor(vmId: string, storage: VmDiskStorage = 'local'): string {
  if (storage === 'shared') return vmSharedDiskPath(vmId);
  if (storage === 'local') return vmDiskPath(vmId);
  throw new Error(`storage must be "local" or "shared", got ${JSON.stringify(storage)}`);
}

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

/** An absolute path under the platform's root (or the shared datastore) on a host, without `..` segments or control characters. */
export function assertHostPath(path: string): string {
  const ok = (path.startsWith(`${HOST_ROOT}/`) || path.startsWith(`${SHARED_DIR}/`)) && !path.split('/').some((s) => s === '..' || s === '.') && !/[\x00-\x1f\x7f]/.test(path);
  if (!ok) throw new Error(`not a platform path under ${HOST_ROOT} or ${SHARED_DIR}: ${JSON.stringify(path)}`);
  return path;
}
