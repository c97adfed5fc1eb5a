import { HostView } from '../../placement/types';
import { fmt, GoalContext, targetsFor } from '../targets';
import { Move } from '../types';

/**
 * Balance (Watcher's workload balance): while the most loaded host's score exceeds the least loaded one's by more
 * than the threshold, move the VM that best closes the gap. Candidates are the hot host's VMs, smallest memory
 * first (cheapest to move); each is tried on every host that passes the filters; the move leaving the smallest
 * spread (then the smallest gap between the two hosts) wins. Hysteresis: a move after which the target's score
 * would exceed the source's is never proposed, so the VM has no reason to come back (no ping-pong).
 */
export class BalanceGoal {
  readonly kind = 'balance' as const;

  constructor(
    private readonly threshold: number,
    private readonly maxMoves = 5,
    /** With consolidation on, empty hosts are left empty (balance would undo consolidation). */
    private readonly skipEmptyHosts = false,
  ) {}

  propose(ctx: GoalContext): Move[] {
    const { cluster } = ctx;
    const moves: Move[] = [];
    for (let i = 0; i < this.maxMoves; i++) {
      const hosts = cluster.eligible().filter((h) => !this.skipEmptyHosts || cluster.vmsOn(h.id).length > 0);
      if (hosts.length < 2) break;
      const scores = new Map(hosts.map((h) => [h.id, cluster.score(h.id)]));
      const ordered = [...hosts].sort((a, b) => (scores.get(b.id) as number) - (scores.get(a.id) as number) || (a.id < b.id ? -1 : 1));
      const hot = ordered[0];
      const cold = ordered[ordered.length - 1];
      const spread = (scores.get(hot.id) as number) - (scores.get(cold.id) as number);
      if (spread <= this.threshold) break;
      const best = this.bestMove(ctx, hot, hosts, scores, spread);
      if (!best) break;
      moves.push(best);
      cluster.move(best.vmId, best.targetHostId);
    }
    return moves;
  }

  private bestMove(ctx: GoalContext, hot: HostView, hosts: HostView[], scores: Map<string, number>, spread: number): Move | null {
    const { cluster } = ctx;
    const hotScore = scores.get(hot.id) as number;
    let best: { move: Move; spreadAfter: number } | null = null;
    for (const vm of cluster.vmsOn(hot.id)) {
      if (!ctx.movable(vm.vmId)) continue;
      for (const t of targetsFor(ctx, vm, hosts)) {
        const s = t.prediction.source.score;
        const d = t.prediction.target.score;
        if (d > s) continue; // hysteresis: the target would become the hotter one
        let max = -Infinity;
        let min = Infinity;
        for (const h of hosts) {
          const v = h.id === hot.id ? s : h.id === t.host.id ? d : (scores.get(h.id) as number);
          if (v > max) max = v;
          if (v < min) min = v;
        }
        const spreadAfter = max - min;
        if (spreadAfter > spread) continue;
        const gapBefore = hotScore - (scores.get(t.host.id) as number);
        const gapAfter = s - d;
        const better = !best || spreadAfter < best.spreadAfter - 1e-9 || (Math.abs(spreadAfter - best.spreadAfter) <= 1e-9 && gapAfter < (best.move.gapAfter as number) - 1e-9);
        if (!better) continue;
        best = {
          spreadAfter,
          move: {
            kind: this.kind,
            vmId: vm.vmId,
            sourceHostId: hot.id,
            targetHostId: t.host.id,
            gapBefore,
            gapAfter,
            reason:
              `balance: ${hot.name} scores ${fmt(hotScore)} against ${fmt(hotScore - spread)} for the least loaded host ` +
              `(gap ${fmt(spread)} > threshold ${this.threshold}); moving VM ${vm.vmId} (${vm.memoryMiB} MiB, ` +
              `~${Math.round(cluster.demandOf(vm.vmId))} % of a CPU) to ${t.host.name} leaves ${hot.name} ${fmt(s)} and ` +
              `${t.host.name} ${fmt(d)} (gap ${fmt(gapBefore)} → ${fmt(gapAfter)}; cluster spread ${fmt(spread)} → ${fmt(spreadAfter)})`,
          },
        };
      }
    }
    return best?.move ?? null;
  }
}
