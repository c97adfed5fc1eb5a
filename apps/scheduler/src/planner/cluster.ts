import { acceptsVms } from '../placement/filters/host-state.filter';
import { HostView } from '../placement/types';
import { LoadModel } from './load-model';
import { CpuSource, PlannerInput, PlannerVm } from './types';

const clampPct = (v: number) => Math.min(100, Math.max(0, v));

/** A host's predicted view and score around one move. */
export interface HostPrediction {
  view: HostView;
  score: number;
}

export interface MovePrediction {
  source: HostPrediction;
  target: HostPrediction;
}

/**
 * The cluster as the planner predicts it: hosts (load, allocation, VM count) and where each VM runs, with the
 * moves already decided (open holds, kept proposals, this round's proposals) applied. Moving a VM takes its
 * estimated CPU (its vm.metrics figure, else its vCPU share of the host's measured CPU) and its memory off the
 * source and puts them on the target, each as a percentage of that host's CPUs and memory.
 */
export class Cluster {
  private constructor(
    readonly model: LoadModel,
    private readonly views: Map<string, HostView>,
    private readonly vms: Map<string, PlannerVm>,
    /** CPU demand of each VM, in % of one CPU (fixed when the cluster is built). */
    private readonly demand: Map<string, number>,
    /** Hosts each VM counts on for its server group (where it runs, and where it is moving from or to). */
    private readonly pinned: Map<string, Set<string>>,
    /** Measured load of each host (before any predicted move), for the hot-spot count. */
    readonly measured: Map<string, HostView>,
    /** VMs in the middle of a migration (open hold). */
    readonly migrating: Set<string>,
  ) {}

  static from(input: PlannerInput, model: LoadModel, cpuSource: CpuSource): Cluster {
    const views = new Map<string, HostView>();
    const vms = new Map(input.vms.map((v) => [v.vmId, { ...v }]));
    const onHost = new Map<string, PlannerVm[]>();
    for (const v of input.vms) onHost.set(v.hostId, [...(onHost.get(v.hostId) ?? []), v]);
    for (const h of input.hosts) {
      const view = { ...h };
      if (cpuSource === 'vms') {
        const sum = input.vmCpuSum?.get(h.id) ?? (onHost.get(h.id) ?? []).reduce((s, v) => s + (v.cpuPercent ?? 0), 0);
        view.cpuPercent = h.totalVcpus > 0 ? clampPct(sum / h.totalVcpus) : null;
      }
      views.set(h.id, view);
    }
    const demand = new Map<string, number>();
    for (const [hostId, list] of onHost) {
      const h = views.get(hostId);
      const vcpus = list.reduce((s, v) => s + v.vcpus, 0);
      for (const v of list) {
        if (v.cpuPercent != null) demand.set(v.vmId, v.cpuPercent);
        else if (h && h.cpuPercent != null && vcpus > 0) demand.set(v.vmId, (h.cpuPercent * h.totalVcpus * v.vcpus) / vcpus);
        else demand.set(v.vmId, 0);
      }
    }
    const pinned = new Map(input.vms.map((v) => [v.vmId, new Set([v.hostId])]));
    const measured = new Map([...views].map(([id, v]) => [id, { ...v }]));
    const c = new Cluster(model, views, vms, demand, pinned, measured, new Set());
    // A migrating VM's load is counted where it is going (its capacity there is already allocated).
    for (const hold of input.holds) {
      const vm = vms.get(hold.vmId);
      // A preempted VM being moved: its claim (and so its place here) is on the target already.
      if (vm && vm.hostId === hold.targetHostId) c.migrating.add(hold.vmId);
      if (!vm || vm.hostId !== hold.sourceHostId || !views.has(hold.targetHostId)) continue;
      c.move(hold.vmId, hold.targetHostId, false);
      c.migrating.add(hold.vmId);
    }
    return c;
  }

  clone(): Cluster {
    return new Cluster(
      this.model,
      new Map([...this.views].map(([id, v]) => [id, { ...v }])),
      new Map([...this.vms].map(([id, v]) => [id, { ...v }])),
      this.demand,
      new Map([...this.pinned].map(([id, s]) => [id, new Set(s)])),
      this.measured,
      new Set(this.migrating),
    );
  }

  hosts(): HostView[] {
    return [...this.views.values()];
  }

  host(id: string): HostView | undefined {
    return this.views.get(id);
  }

  /** Hosts the goals work on: taking VMs (up, not draining or in maintenance) and measured (metrics reported). */
  eligible(): HostView[] {
    return this.hosts().filter((h) => acceptsVms(h) && h.metricsAt != null);
  }

  vm(id: string): PlannerVm | undefined {
    return this.vms.get(id);
  }

  vmsOn(hostId: string): PlannerVm[] {
    return [...this.vms.values()].filter((v) => v.hostId === hostId).sort((a, b) => a.memoryMiB - b.memoryMiB || (a.vmId < b.vmId ? -1 : 1));
  }

  score(hostId: string): number {
    return this.model.score(this.views.get(hostId) as HostView);
  }

  /** CPU the VM is estimated to use, in % of one CPU. */
  demandOf(vmId: string): number {
    return this.demand.get(vmId) ?? 0;
  }

  /** Hosts where the other members of the VM's server group run (or move from or to). */
  groupHosts(vm: PlannerVm): Set<string> {
    const out = new Set<string>();
    if (!vm.group) return out;
    for (const other of this.vms.values()) {
      if (other.vmId === vm.vmId || other.group?.name !== vm.group.name) continue;
      for (const h of this.pinned.get(other.vmId) ?? [other.hostId]) out.add(h);
    }
    return out;
  }

  /** The two hosts' views and scores after moving the VM (nothing is changed). */
  predict(vmId: string, targetId: string): MovePrediction {
    const vm = this.vms.get(vmId) as PlannerVm;
    const source = { ...(this.views.get(vm.hostId) as HostView) };
    const target = { ...(this.views.get(targetId) as HostView) };
    this.shift(source, vm, -1, true);
    this.shift(target, vm, +1, true);
    return { source: { view: source, score: this.model.score(source) }, target: { view: target, score: this.model.score(target) } };
  }

  /** Applies a move. `allocation` false: only the load moves (an open hold already allocated on the target). */
  move(vmId: string, targetId: string, allocation = true): void {
    const vm = this.vms.get(vmId) as PlannerVm;
    this.shift(this.views.get(vm.hostId) as HostView, vm, -1, allocation);
    this.shift(this.views.get(targetId) as HostView, vm, +1, allocation);
    this.pinned.get(vmId)?.add(targetId);
    vm.hostId = targetId;
  }

  private shift(h: HostView, vm: PlannerVm, sign: 1 | -1, allocation: boolean): void {
    const cpu = this.demandOf(vm.vmId);
    if (h.totalVcpus > 0 && (h.cpuPercent != null || cpu > 0)) h.cpuPercent = clampPct((h.cpuPercent ?? 0) + (sign * cpu) / h.totalVcpus);
    if (h.memoryPercent != null && h.totalMemoryMiB > 0) h.memoryPercent = clampPct(h.memoryPercent + (sign * vm.memoryMiB * 100) / h.totalMemoryMiB);
    if (h.metricsVmCount != null) h.metricsVmCount = Math.max(0, h.metricsVmCount + sign);
    if (!allocation) return;
    h.activeVms = Math.max(0, (h.activeVms ?? 0) + sign);
    h.allocatedVcpus = Math.max(0, h.allocatedVcpus + sign * vm.vcpus);
    h.allocatedMemoryMiB = Math.max(0, h.allocatedMemoryMiB + sign * vm.memoryMiB);
    h.allocatedDiskGiB = Math.max(0, h.allocatedDiskGiB + sign * vm.diskGiB);
    if (vm.preemptible) {
      h.preemptibleVcpus = Math.max(0, (h.preemptibleVcpus ?? 0) + sign * vm.vcpus);
      h.preemptibleMemoryMiB = Math.max(0, (h.preemptibleMemoryMiB ?? 0) + sign * vm.memoryMiB);
      h.preemptibleDiskGiB = Math.max(0, (h.preemptibleDiskGiB ?? 0) + sign * vm.diskGiB);
    }
  }
}
