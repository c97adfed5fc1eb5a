import type { HostLatestMetrics, HostState, HostView, ImageView, MigrationState, VmLatestMetrics, VmState, VmStorageKind } from '@minicloud/contracts';
import type { HostRow, ImageRow, VmRow } from './db/entities';
import { SchedulingNote, visibleNote } from './read-model/scheduling-projection';

export interface VmView {
  id: string;
  name: string;
  status: VmState;
  host: { id: string; name: string | null; address: string | null } | null;
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
  image: { id: string; name: string };
  /** Where the disk lives: `local` (its host) or `shared` (the shared datastore). */
  storage: VmStorageKind;
  /** Why the VM failed; null otherwise. */
  reason: string | null;
  tags: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  /** State of the VM's host in the read model (null: no host yet, or the host is not known here). */
  hostState: HostState | null;
  /** false when the VM's host is `down` (unreachable): the VM's status may be stale. */
  hostReachable: boolean | null;
  /** The VM's latest metrics round (GET /v1/vms/:id only; null when none is known). */
  metrics: VmLatestMetrics | null;
  /** The VM's unfinished migration (GET /v1/vms/:id only; null when there is none). */
  migration: VmMigrationRef | null;
  /**
   * What the scheduler says beyond the status (null: nothing): `queued` while a `requested` VM waits in its queue
   * for capacity, `preempted` while a `stopped` VM is stopped because a preemption took its capacity.
   */
  scheduling: VmSchedulingView | null;
}

/**
 * queued: why nothing fits, since when, the deadline, and (GET /v1/vms/:id only, asked of the scheduler) the
 * position in the queue and the aged priority; preempted: when, by which VM or reservation, on which host, why.
 */
export type VmSchedulingView =
  | (Extract<SchedulingNote, { state: 'queued' }> & { waitedSeconds: number; position: number | null; effectivePriority: number | null })
  | Extract<SchedulingNote, { state: 'preempted' }>;

/** The scheduling part of the view at `now` (position and aged priority unknown until asked of the scheduler). */
export function toSchedulingView(status: VmState, note: SchedulingNote | null | undefined, now = Date.now()): VmSchedulingView | null {
  const n = visibleNote(status, note);
  if (!n) return null;
  if (n.state === 'preempted') return n;
  return { ...n, waitedSeconds: Math.max(0, Math.round((now - Date.parse(n.since)) / 1000)), position: null, effectivePriority: null };
}

/** A VM's unfinished migration, in short: follow it at /v1/migrations/:id. */
export interface VmMigrationRef {
  id: string;
  state: MigrationState;
  mode: string;
  stage: string | null;
  sourceHostId: string;
  targetHostId: string | null;
}

/** GET /v1/hosts items: the host with its latest metrics round (null when none is known). */
export type HostListItem = HostView & { metrics: HostLatestMetrics | null };

/**
 * The client's view of a VM. `host` is null until the scheduler placed it; if the VM's host is not (yet) in the
 * read model, its id is still shown with name and address null.
 */
export function toVmView(row: VmRow, host?: (Pick<HostRow, 'id' | 'name' | 'address'> & { state?: HostState }) | null): VmView {
  const hostState = row.hostId && host && host.id === row.hostId && host.state ? host.state : null;
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    host: row.hostId
      ? { id: row.hostId, name: host && host.id === row.hostId ? host.name : null, address: host && host.id === row.hostId ? host.address : null }
      : null,
    vcpus: row.vcpus,
    memoryMiB: row.memoryMiB,
    diskGiB: row.diskGiB,
    image: { id: row.imageId, name: row.imageName },
    storage: row.storage ?? 'local',
    reason: row.status === 'failed' ? row.reason ?? 'failed' : null,
    tags: row.tags ?? {},
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
    hostState,
    hostReachable: hostState === null ? null : hostState !== 'down',
    metrics: null,
    migration: null,
    scheduling: toSchedulingView(row.status, row.scheduling),
  };
}

export function toHostView(row: HostRow): HostView {
  return {
    id: row.id,
    name: row.name,
    address: row.address,
    sshPort: row.sshPort,
    sshUser: row.sshUser,
    state: row.state,
    stateReason: row.stateReason,
    facts: row.facts,
    registeredAt: iso(row.registeredAt),
  };
}

export type GatewayImageView = Omit<ImageView, 'path'> & { path: string | null };

export function toImageView(row: ImageRow): GatewayImageView {
  const v: GatewayImageView = {
    id: row.id,
    name: row.name,
    path: row.path,
    format: row.format,
    checksum: row.checksum,
    sizeBytes: Number(row.sizeBytes),
    virtualSizeBytes: Number(row.virtualSizeBytes),
    arch: row.arch,
    registeredAt: iso(row.registeredAt),
  };
  if (row.kernelPath) v.kernelPath = row.kernelPath;
  if (row.initrdPath) v.initrdPath = row.initrdPath;
  if (row.cmdline) v.cmdline = row.cmdline;
  return v;
}

function iso(d: Date | string): string {
  return (d instanceof Date ? d : new Date(d)).toISOString();
}
