import { GroupPolicy, RecommendationKind } from '@minicloud/contracts';
import { HostView, PlacementRequest } from '../placement/types';

/** Where a host's CPU % comes from: host.metrics (`host`), or the sum of its VMs' vm.metrics ÷ its CPUs (`vms`). */
export const CpuSources = ['host', 'vms'] as const;
export type CpuSource = (typeof CpuSources)[number];

/** A placed VM as the planner sees it (from its active claim, and its latest vm.metrics). */
export interface PlannerVm {
  vmId: string;
  hostId: string;
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
  preemptible?: boolean;
  group?: { name: string; policy: GroupPolicy };
  /** The VM's own placement request (arch, policy, group), for the filters a target must pass. */
  request?: PlacementRequest;
  /** Latest vm.metrics cpuPercent (% of one vCPU); null when unknown. */
  cpuPercent: number | null;
}

/** An open migration hold: the VM is moving from source to target. */
export interface OpenHold {
  vmId: string;
  sourceHostId: string;
  targetHostId: string;
}

/** Everything one planner round looks at. */
export interface PlannerInput {
  hosts: HostView[];
  vms: PlannerVm[];
  holds: OpenHold[];
  /** Per host: the latest sum of its VMs' CPU from vm.metrics (% of one vCPU). */
  vmCpuSum?: ReadonlyMap<string, number>;
}

/** A migration the planner proposes. */
export interface Move {
  kind: RecommendationKind;
  vmId: string;
  sourceHostId: string;
  targetHostId: string;
  reason: string;
  /** Load-score gap between the two hosts before and (predicted) after the move. */
  gapBefore: number | null;
  gapAfter: number | null;
}

export interface PlannerSettings {
  /** Balance when the most and least loaded hosts' scores differ by more than this (0..1). */
  balanceThreshold: number;
  /** Consecutive rounds above a load cap before a host is a hot spot. */
  hotSpotRounds: number;
  /** Empty lightly loaded hosts (opt-in). */
  consolidation: boolean;
}
