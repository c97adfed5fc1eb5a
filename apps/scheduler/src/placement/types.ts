import { GroupPolicy, HostState, PlacementPolicyName, VmStorageKind } from '@minicloud/contracts';

/** The three resources the scheduler accounts for. */
export const Resources = ['vcpus', 'memory', 'disk'] as const;
export type Resource = (typeof Resources)[number];

/** Set by a maintenance request (the scheduler's own record): draining = VMs are moved away; maintenance = empty. */
export type HostMaintenanceState = 'draining' | 'maintenance';

/** A host as the placement logic sees it: a plain snapshot, no ORM. */
export interface HostView {
  id: string;
  name: string;
  state: HostState;
  arch: string;
  totalVcpus: number;
  totalMemoryMiB: number;
  totalDiskGiB: number;
  cpuAllocationRatio: number;
  ramAllocationRatio: number;
  diskAllocationRatio: number;
  /** Everything claimed on the host (preemptible VMs included). */
  allocatedVcpus: number;
  allocatedMemoryMiB: number;
  allocatedDiskGiB: number;
  /** The part of the allocation held by preemptible VMs. */
  preemptibleVcpus?: number;
  preemptibleMemoryMiB?: number;
  preemptibleDiskGiB?: number;
  /** Capacity held for advance reservations (the most that overlaps at any time, minus what their VMs use). */
  reservedVcpus?: number;
  reservedMemoryMiB?: number;
  reservedDiskGiB?: number;
  /** VMs with an active claim here. */
  activeVms?: number;
  /** Latest host.metrics (null = never reported or not readable). */
  cpuPercent?: number | null;
  memoryPercent?: number | null;
  metricsVmCount?: number | null;
  /** ms since epoch of the latest metrics round, null when the host never reported. */
  metricsAt?: number | null;
  /** Draining or in maintenance (HostMaintenance RPC): takes no VM whatever `state` says. */
  maintenance?: HostMaintenanceState | null;
  /** The host mounts the shared datastore (absent: no). */
  sharedStorage?: boolean;
  generation: number;
}

/** What one VM needs, and any constraint the client gave. */
export interface PlacementRequest {
  vmId: string;
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
  targetHostId?: string;
  /** Image architecture; hosts of another arch are removed. */
  arch?: string;
  /** Preemptible VMs may use capacity held for reservations (and are preempted when the window opens). */
  preemptible?: boolean;
  priority?: number;
  group?: { name: string; policy: GroupPolicy };
  /** Hosts where other members of `group` run (filled by the service before planning). */
  groupHosts?: ReadonlySet<string>;
  /** Hosts this VM must not go to (earlier failed build attempts). */
  excludeHosts?: readonly string[];
  /** Per-request override of the cluster's default policy. */
  policy?: PlacementPolicyName;
  /** Where the VM's disk lives (absent: local); `shared` needs a host with the shared datastore. */
  storage?: VmStorageKind;
}

export const ResourceUnits: Record<Resource, string> = { vcpus: 'vCPU', memory: 'MiB', disk: 'GiB' };
