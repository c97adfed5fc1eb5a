import { Planner } from '../placement/planner';
import { Cluster } from './cluster';
import { BalanceGoal } from './goals/balance.goal';
import { ConsolidationGoal } from './goals/consolidation.goal';
import { countHotRounds, HotSpotGoal } from './goals/hot-spot.goal';
import { LoadModel } from './load-model';
import { fmt, GoalContext, moveRequest, targetsFor } from './targets';
import { CpuSource, Move, PlannerInput, PlannerSettings } from './types';

export interface OpenProposal extends Move {
  id: string;
}

export interface RoundInput extends PlannerInput {
  /** Open proposals from earlier rounds: kept while still valid (and counted as done), else expired. */
  open: OpenProposal[];
  /** VMs migrated recently (cooldown, any origin): never proposed. */
  cooldown: ReadonlySet<string>;
  /** Consecutive rounds above a cap, per host, as of the previous round. */
  hotRounds: ReadonlyMap<string, number>;
  /** A consolidation is still under way (open or unfinished consolidation moves). */
  consolidationBusy: boolean;
}

export interface RoundResult {
  keep: string[];
  expire: { id: string; why: string }[];
  proposals: Move[];
  hotRounds: Map<string, number>;
}

/**
 * One planner round (pure): checks the open proposals against the cluster as it is now (a proposal whose VM
 * moved or went, whose target can no longer take it, or whose reason is gone, expires), then runs the goals —
 * hot spots, balance, consolidation (opt-in) — on the cluster with the kept proposals and the open migrations
 * applied. A VM gets at most one proposal, and none while migrating or in its cooldown.
 */
export class PlannerRound {
  constructor(
    private readonly placement: Planner,
    private readonly model: LoadModel,
    private readonly cpuSource: CpuSource,
  ) {}

  run(input: RoundInput, settings: PlannerSettings): RoundResult {
    const cluster = Cluster.from(input, this.model, this.cpuSource);
    const taken = new Set<string>([...input.cooldown, ...cluster.migrating]);
    const ctx: GoalContext = { cluster, placement: this.placement, movable: (id) => !taken.has(id) };
    const hotRounds = countHotRounds(input.hotRounds, [...cluster.measured.values()], this.model);

    const keep: string[] = [];
    const expire: { id: string; why: string }[] = [];
    for (const p of input.open) {
      const why = this.invalid(ctx, p, settings, taken);
      if (why) {
        expire.push({ id: p.id, why });
        continue;
      }
      keep.push(p.id);
      cluster.move(p.vmId, p.targetHostId);
      taken.add(p.vmId);
    }

    const proposals: Move[] = [];
    const take = (moves: Move[]) => {
      for (const m of moves) taken.add(m.vmId);
      proposals.push(...moves);
    };
    take(new HotSpotGoal(settings.hotSpotRounds).propose(ctx, hotRounds));
    take(new BalanceGoal(settings.balanceThreshold, 5, settings.consolidation).propose(ctx));
    if (settings.consolidation) {
      const busy = input.consolidationBusy || input.open.some((p) => p.kind === 'consolidation' && keep.includes(p.id));
      take(new ConsolidationGoal().propose(ctx, busy));
    }
    return { keep, expire, proposals, hotRounds };
  }

  /** Why an open proposal no longer holds, or null. */
  private invalid(ctx: GoalContext, p: OpenProposal, settings: PlannerSettings, taken: ReadonlySet<string>): string | null {
    const { cluster } = ctx;
    const vm = cluster.vm(p.vmId);
    if (!vm) return `VM ${p.vmId} is no longer placed (deleted or released)`;
    if (cluster.migrating.has(p.vmId)) return `VM ${p.vmId} is migrating already`;
    if (vm.hostId !== p.sourceHostId) return `VM ${p.vmId} is no longer on the source host`;
    if (taken.has(p.vmId)) return `VM ${p.vmId} was migrated recently (cooldown)`;
    const source = cluster.host(p.sourceHostId);
    const target = cluster.host(p.targetHostId);
    if (!source || !target) return `the source or target host is gone`;
    const t = targetsFor(ctx, vm, [target])[0];
    if (!t) {
      const passes = ctx.placement.passing([target], moveRequest(cluster, vm)).length > 0;
      return passes ? `${target.name} would be above the load caps after the move` : `${target.name} can no longer take VM ${p.vmId} (filters)`;
    }
    if (p.kind === 'balance') {
      const gap = cluster.score(source.id) - cluster.score(target.id);
      if (gap <= settings.balanceThreshold) return `${source.name} and ${target.name} are balanced now (gap ${fmt(gap)} ≤ ${settings.balanceThreshold})`;
      if (t.prediction.target.score > t.prediction.source.score) return `the move would now leave ${target.name} more loaded than ${source.name}`;
    }
    if (p.kind === 'hot-spot' && !cluster.model.overCaps(source)) return `${source.name} is within the load caps now`;
    if (p.kind === 'consolidation' && !settings.consolidation) return 'consolidation was turned off';
    return null;
  }
}
