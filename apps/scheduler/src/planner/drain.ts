import { Planner } from '../placement/planner';
import { HostView, PlacementRequest } from '../placement/types';

export interface DrainVm {
  vmId: string;
  request: PlacementRequest;
}

export interface DrainInput {
  host: HostView;
  /** Every host (the drained one is left out as a target). */
  hosts: HostView[];
  /** VMs with an active claim on the host. */
  vms: DrainVm[];
  /** VMs on the host that are migrating (open hold) or whose drain request is not answered yet. */
  busy: ReadonlySet<string>;
  /** Open holds of VMs leaving the host. */
  outgoing: number;
}

export interface DrainPlan {
  /** VMs to request a migration for now. */
  request: string[];
  /** VMs no host can take now, with the reason (retried every round). */
  blocked: { vmId: string; reason: string }[];
  /** Nothing left on the host and nothing leaving it: it is in maintenance. */
  drained: boolean;
}

/**
 * One step of a host's drain: every VM on it that is not moving yet gets a migration request — when some host
 * can take it (the placement filters, its group, the drained host excluded), accounting for the VMs requested
 * before it in the same step; the others are blocked with the placement's reason. The scheduler then chooses
 * each target as for any migration request.
 */
export function planDrain(placement: Planner, d: DrainInput, groupHosts: (vm: DrainVm) => ReadonlySet<string> | undefined): DrainPlan {
  const others = new Map(d.hosts.filter((h) => h.id !== d.host.id).map((h) => [h.id, { ...h }]));
  const request: string[] = [];
  const blocked: { vmId: string; reason: string }[] = [];
  for (const vm of d.vms) {
    if (d.busy.has(vm.vmId)) continue;
    const req: PlacementRequest = { ...vm.request, targetHostId: undefined, excludeHosts: [d.host.id], groupHosts: groupHosts(vm) };
    const plan = placement.plan([...others.values()], req);
    if (!plan.ok) {
      blocked.push({ vmId: vm.vmId, reason: `no host can take VM ${vm.vmId}: ${plan.reason}` });
      continue;
    }
    request.push(vm.vmId);
    const h = others.get(plan.ranked[0].host.id);
    if (h) {
      h.allocatedVcpus += req.vcpus;
      h.allocatedMemoryMiB += req.memoryMiB;
      h.allocatedDiskGiB += req.diskGiB;
      h.activeVms = (h.activeVms ?? 0) + 1;
    }
  }
  return { request, blocked, drained: d.vms.length === 0 && d.outgoing === 0 };
}
