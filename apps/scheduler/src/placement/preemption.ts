import { fits } from './capacity';
import { HostView, PlacementRequest } from './types';

/** An active claim of a preemptible VM. */
export interface PreemptibleVm {
  vmId: string;
  hostId: string;
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
  priority: number;
  createdAt: number;
}

export interface PreemptionPlan {
  host: HostView;
  victims: PreemptibleVm[];
}

/** The host as it would be without these preemptible VMs. */
export function without(host: HostView, victims: PreemptibleVm[]): HostView {
  const s = (f: (v: PreemptibleVm) => number) => victims.reduce((a, v) => a + f(v), 0);
  const [c, m, d] = [s((v) => v.vcpus), s((v) => v.memoryMiB), s((v) => v.diskGiB)];
  return {
    ...host,
    allocatedVcpus: host.allocatedVcpus - c,
    allocatedMemoryMiB: host.allocatedMemoryMiB - m,
    allocatedDiskGiB: host.allocatedDiskGiB - d,
    preemptibleVcpus: (host.preemptibleVcpus ?? 0) - c,
    preemptibleMemoryMiB: (host.preemptibleMemoryMiB ?? 0) - m,
    preemptibleDiskGiB: (host.preemptibleDiskGiB ?? 0) - d,
    activeVms: (host.activeVms ?? 0) - victims.length,
  };
}

/**
 * Picks where a high-priority request goes by preempting: on each candidate host (those that pass every filter
 * except capacity), preemptible VMs of a strictly lower priority are taken lowest priority first, newest first,
 * until the request fits. The host needing the fewest victims wins (then the least memory taken, then host id).
 */
export function choosePreemption(candidates: HostView[], vms: PreemptibleVm[], req: PlacementRequest): PreemptionPlan | null {
  const prio = req.priority ?? 4;
  const byHost = new Map<string, PreemptibleVm[]>();
  for (const v of vms) if (v.priority > prio) byHost.set(v.hostId, [...(byHost.get(v.hostId) ?? []), v]);
  let best: (PreemptionPlan & { mem: number }) | null = null;
  for (const host of candidates) {
    const pool = (byHost.get(host.id) ?? []).sort((a, b) => b.priority - a.priority || b.createdAt - a.createdAt || (a.vmId < b.vmId ? -1 : 1));
    const taken: PreemptibleVm[] = [];
    let ok = fits(host, req);
    for (const v of pool) {
      if (ok) break;
      taken.push(v);
      ok = fits(without(host, taken), req);
    }
    if (!ok || taken.length === 0) continue;
    const mem = taken.reduce((a, v) => a + v.memoryMiB, 0);
    if (!best || taken.length < best.victims.length || (taken.length === best.victims.length && (mem < best.mem || (mem === best.mem && host.id < best.host.id)))) {
      best = { host, victims: taken, mem };
    }
  }
  return best ? { host: best.host, victims: best.victims } : null;
}
