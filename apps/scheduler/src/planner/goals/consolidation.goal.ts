import { Cluster } from '../cluster';
import { fmt, GoalContext, targetsFor } from '../targets';
import { Move } from '../types';

/**
 * Consolidation (opt-in; Watcher's server consolidation): the least loaded host whose VMs all fit on the other
 * hosts in use, within their capacity, filters and load caps, gets all its VMs moved away (an empty host can be
 * powered down). Largest VM first, each to the most loaded host that still takes it (best fit). One host at a
 * time: nothing is proposed while an earlier consolidation is still under way (`busy`).
 */
export class ConsolidationGoal {
  readonly kind = 'consolidation' as const;

  propose(ctx: GoalContext, busy: boolean): Move[] {
    if (busy) return [];
    const { cluster } = ctx;
    const inUse = cluster.eligible().filter((h) => cluster.vmsOn(h.id).length > 0);
    if (inUse.length < 2) return [];
    const order = [...inUse].sort((a, b) => cluster.score(a.id) - cluster.score(b.id) || (a.id < b.id ? -1 : 1));
    for (const source of order) {
      const vms = cluster.vmsOn(source.id);
      if (vms.some((v) => !ctx.movable(v.vmId))) continue;
      const trial = cluster.clone();
      const others = inUse.filter((h) => h.id !== source.id).map((h) => h.id);
      const moves: Move[] = [];
      const sourceScore = cluster.score(source.id);
      for (const vm of [...vms].sort((a, b) => b.memoryMiB - a.memoryMiB || (a.vmId < b.vmId ? -1 : 1))) {
        const among = others.map((id) => trial.host(id)).filter((h) => !!h) as NonNullable<ReturnType<Cluster['host']>>[];
        const targets = targetsFor({ ...ctx, cluster: trial }, trial.vm(vm.vmId) ?? vm, among);
        const t = targets[targets.length - 1]; // the most loaded host that still takes it
        if (!t) break;
        const targetBefore = trial.score(t.host.id);
        moves.push({
          kind: this.kind,
          vmId: vm.vmId,
          sourceHostId: source.id,
          targetHostId: t.host.id,
          gapBefore: sourceScore - targetBefore,
          gapAfter: t.prediction.source.score - t.prediction.target.score,
          reason:
            `consolidation: ${source.name} is the least loaded host that can be emptied (score ${fmt(sourceScore)}, ` +
            `${vms.length} VM${vms.length === 1 ? '' : 's'}, all fit on the other hosts within the caps); moving VM ${vm.vmId} ` +
            `(${vm.memoryMiB} MiB) to ${t.host.name} (score ${fmt(targetBefore)} → ${fmt(t.prediction.target.score)})`,
        });
        trial.move(vm.vmId, t.host.id);
      }
      if (moves.length !== vms.length) continue;
      for (const m of moves) cluster.move(m.vmId, m.targetHostId);
      return moves;
    }
    return [];
  }
}
