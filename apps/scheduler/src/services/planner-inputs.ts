import { ActiveVm } from '../persistence';
import { PlannerVm } from '../planner/types';
import { PlacementRequest } from '../placement/types';
import { VmRequested } from './publisher';
import { toPlacementRequest } from './scheduling.service';

/** The VM's placement request with the size of its claim (for the filters a target must pass). */
export function claimRequest(v: ActiveVm): PlacementRequest {
  const base: Partial<PlacementRequest> = v.request ? toPlacementRequest(v.request as unknown as VmRequested) : { priority: v.priority };
  const group = v.groupName && v.groupPolicy ? { name: v.groupName, policy: v.groupPolicy } : base.group;
  return { ...base, vmId: v.vmId, vcpus: v.vcpus, memoryMiB: v.memoryMiB, diskGiB: v.diskGiB, preemptible: v.preemptible, group };
}

/** A claim as the planner sees it, with its latest vm.metrics CPU when known. */
export function plannerVm(v: ActiveVm, cpu: ReadonlyMap<string, number>): PlannerVm {
  const request = claimRequest(v);
  return {
    vmId: v.vmId,
    hostId: v.hostId,
    vcpus: v.vcpus,
    memoryMiB: v.memoryMiB,
    diskGiB: v.diskGiB,
    preemptible: v.preemptible,
    group: request.group,
    request,
    cpuPercent: cpu.get(v.vmId) ?? null,
  };
}
