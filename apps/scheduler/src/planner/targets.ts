import { Planner } from '../placement/planner';
import { HostView, PlacementRequest } from '../placement/types';
import { Cluster, MovePrediction } from './cluster';
import { PlannerVm } from './types';

/** What every goal works with in one round. */
export interface GoalContext {
  cluster: Cluster;
  /** The placement planner: its filters decide whether a target can take the VM. */
  placement: Planner;
  /** false for a VM in cooldown, migrating, with an open proposal, or already moved this round. */
  movable(vmId: string): boolean;
}

export interface Target {
  host: HostView;
  prediction: MovePrediction;
}

/** The placement request for moving the VM: its own request with its claim's size, the source left out. */
export function moveRequest(cluster: Cluster, vm: PlannerVm): PlacementRequest {
  return {
    ...(vm.request ?? { vmId: vm.vmId }),
    vmId: vm.vmId,
    vcpus: vm.vcpus,
    memoryMiB: vm.memoryMiB,
    diskGiB: vm.diskGiB,
    preemptible: !!vm.preemptible,
    group: vm.group ?? vm.request?.group,
    targetHostId: undefined,
    excludeHosts: [vm.hostId],
    groupHosts: cluster.groupHosts(vm),
  };
}

/**
 * Hosts that can take the VM: eligible (`among`, default every eligible host), passing every placement filter
 * with the source excluded (capacity, anti-affinity, load caps now), and still within the load caps after the
 * move. Lowest predicted target score first.
 */
export function targetsFor(ctx: GoalContext, vm: PlannerVm, among?: HostView[]): Target[] {
  const { cluster } = ctx;
  const candidates = (among ?? cluster.eligible()).filter((h) => h.id !== vm.hostId);
  const passing = ctx.placement.passing(candidates, moveRequest(cluster, vm));
  const out: Target[] = [];
  for (const host of passing) {
    const prediction = cluster.predict(vm.vmId, host.id);
    if (cluster.model.overCaps(prediction.target.view)) continue;
    out.push({ host, prediction });
  }
  return out.sort((a, b) => a.prediction.target.score - b.prediction.target.score || (a.host.id < b.host.id ? -1 : 1));
}

export const fmt = (n: number) => n.toFixed(3);
