import { acceptsVms } from '../../placement/filters/host-state.filter';
import { HostView } from '../../placement/types';
import { LoadModel } from '../load-model';
import { fmt, GoalContext, Target, targetsFor } from '../targets';
import { Move, PlannerVm } from '../types';

/**
 * Consecutive rounds each host has been above a load cap (measured, not predicted): one more for a host above,
 * 0 for one within the caps (or not taking VMs, or not measured).
 */
export function countHotRounds(prev: ReadonlyMap<string, number>, measured: HostView[], model: LoadModel): Map<string, number> {
  const out = new Map<string, number>();
  for (const h of measured) out.set(h.id, acceptsVms(h) && h.metricsAt != null && model.overCaps(h) ? (prev.get(h.id) ?? 0) + 1 : 0);
  return out;
}

/**
 * The counters of `next` that differ from `stored` (a missing one counts as 0): what a round has to write. Across a
 * fleet nearly every counter stays 0 round after round.
 */
export function changedHotRounds(stored: ReadonlyMap<string, number>, next: ReadonlyMap<string, number>): Map<string, number> {
  return new Map([...next].filter(([id, n]) => (stored.get(id) ?? 0) !== n));
}

/**
 * Hot spots: a host above the CPU or memory cap for `rounds` consecutive rounds gets VMs moved off it until its
 * predicted load is within the caps: a VM whose move alone brings it there (smallest memory first), else the one
 * that lowers the excess most. Targets pass the filters, stay within the caps, and never end up hotter than the
 * source (hysteresis).
 */
export class HotSpotGoal {
  readonly kind = 'hot-spot' as const;

  constructor(
    private readonly rounds: number,
    private readonly maxMovesPerHost = 5,
  ) {}

  propose(ctx: GoalContext, hotRounds: ReadonlyMap<string, number>): Move[] {
    const { cluster } = ctx;
    const model = cluster.model;
    const moves: Move[] = [];
    const hot = cluster
      .eligible()
      .filter((h) => (hotRounds.get(h.id) ?? 0) >= this.rounds)
      .sort((a, b) => cluster.score(b.id) - cluster.score(a.id));
    for (const h of hot) {
      for (let i = 0; i < this.maxMovesPerHost; i++) {
        const view = cluster.host(h.id) as HostView;
        const over = model.overBy(view);
        if (over <= 0) break;
        let best: { vm: PlannerVm; t: Target; overAfter: number } | null = null;
        for (const vm of cluster.vmsOn(h.id)) {
          if (!ctx.movable(vm.vmId)) continue;
          const t = targetsFor(ctx, vm).find((x) => x.prediction.target.score <= x.prediction.source.score);
          if (!t) continue;
          const overAfter = model.overBy(t.prediction.source.view);
          if (overAfter >= over) continue;
          // Smallest memory first (vmsOn's order): the first that clears the excess wins; else the largest cut.
          if (!best || (best.overAfter > 0 && overAfter < best.overAfter)) best = { vm, t, overAfter };
          if (overAfter <= 0) break;
        }
        if (!best) break;
        const { vm, t } = best;
        const scoreBefore = cluster.score(h.id);
        const targetBefore = cluster.score(t.host.id);
        moves.push({
          kind: this.kind,
          vmId: vm.vmId,
          sourceHostId: h.id,
          targetHostId: t.host.id,
          gapBefore: scoreBefore - targetBefore,
          gapAfter: t.prediction.source.score - t.prediction.target.score,
          reason:
            `hot spot: ${h.name} has been above the load caps for ${hotRounds.get(h.id)} rounds (${model.describe(view)}); ` +
            `moving VM ${vm.vmId} (${vm.memoryMiB} MiB, ~${Math.round(cluster.demandOf(vm.vmId))} % of a CPU) to ${t.host.name} ` +
            `leaves ${h.name} at ${model.describe(t.prediction.source.view)} and ${t.host.name} at ${model.describe(t.prediction.target.view)} ` +
            `(scores ${fmt(scoreBefore)}/${fmt(targetBefore)} → ${fmt(t.prediction.source.score)}/${fmt(t.prediction.target.score)})`,
        });
        cluster.move(vm.vmId, t.host.id);
      }
    }
    return moves;
  }
}
