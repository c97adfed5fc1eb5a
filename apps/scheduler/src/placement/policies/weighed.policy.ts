import { HostView, PlacementRequest } from '../types';
import { parseWeights, WeightedWeigher } from '../weighers/weigher';
import { PlacementPolicy, RankedHost, rankedHost } from './placement-policy';

export interface WeighedPolicyOptions {
  name: string;
  weighers: WeightedWeigher[];
  /** true: the lowest score wins (least-loaded); false: the highest (pack, spread). */
  lowestWins: boolean;
  /** When the two best scores are within this, one of the two is picked at random (spreads bursts). */
  tieWindow?: number;
  /** What the policy is for, in the reason. */
  goal: string;
  random?: () => number;
}

/**
 * A policy made of weighers (Nova's weigher scheduler): score = Σ multiplier × weigher(host), best first.
 * Only the best `limit` hosts are kept (a bounded insertion), so ranking 10,000 hosts costs one pass.
 */
export class WeighedPolicy implements PlacementPolicy {
  readonly name: string;
  private readonly random: () => number;

  constructor(private readonly o: WeighedPolicyOptions) {
    this.name = o.name;
    this.random = o.random ?? Math.random;
  }

  score(host: HostView, req: PlacementRequest): number {
    let s = 0;
    for (const w of this.o.weighers) s += w.multiplier * w.weigher.weigh(host, req);
    return s;
  }

  rank(candidates: HostView[], req: PlacementRequest, _cursor: string | null, limit = Infinity, passedTotal?: number): RankedHost[] {
    const sign = this.o.lowestWins ? 1 : -1;
    const keep = Math.min(limit, candidates.length);
    const best: { host: HostView; key: number; score: number }[] = [];
    for (const host of candidates) {
      const score = this.score(host, req);
      const key = sign * score;
      if (best.length === keep && key >= best[best.length - 1].key) continue;
      // Insertion into the small sorted list; equal keys keep host order (stable).
      let i = best.length;
      while (i > 0 && best[i - 1].key > key) i--;
      best.splice(i, 0, { host, key, score });
      if (best.length > keep) best.pop();
    }
    let tie = false;
    if (this.o.tieWindow !== undefined && best.length >= 2 && Math.abs(best[0].score - best[1].score) <= this.o.tieWindow) {
      tie = true;
      if (this.random() < 0.5) [best[0], best[1]] = [best[1], best[0]];
    }
    const n = passedTotal ?? candidates.length;
    return best.map((b, i) =>
      rankedHost(b.host, () =>
        `${this.name}: host ${b.host.name} (${b.host.id}) ${i === 0 ? 'ranked first' : `is choice ${i + 1}`} of ${n} ` +
        `${n === 1 ? 'host' : 'hosts'} that passed all filters; score ${b.score.toFixed(3)} = ` +
        this.o.weighers.map((w) => `${w.multiplier}×${w.weigher.name} (${w.weigher.describe(b.host, req)})`).join(' + ') +
        `, ${this.o.lowestWins ? 'lowest' : 'highest'} wins (${this.o.goal})` +
        (tie && i < 2 ? `; the two best were within ${this.o.tieWindow}, picked one at random` : ''),
      ),
    );
  }

  nextCursor(): null {
    return null;
  }
}

export const DEFAULT_WEIGHTS = {
  'least-loaded': 'cpu=0.5,memory=0.3,vms=0.2',
  pack: 'in-use=1,fill=1',
  spread: 'free=1',
} as const;

export function leastLoadedPolicy(spec: string = DEFAULT_WEIGHTS['least-loaded'], tieWindow = 0.05, random?: () => number): WeighedPolicy {
  return new WeighedPolicy({ name: 'least-loaded', weighers: parseWeights(spec, 'least-loaded weights'), lowestWins: true, tieWindow, goal: 'least loaded first', random });
}

export function packPolicy(spec: string = DEFAULT_WEIGHTS.pack): WeighedPolicy {
  return new WeighedPolicy({ name: 'pack', weighers: parseWeights(spec, 'pack weights'), lowestWins: false, goal: 'best fit on hosts in use: fewest hosts' });
}

export function spreadPolicy(spec: string = DEFAULT_WEIGHTS.spread): WeighedPolicy {
  return new WeighedPolicy({ name: 'spread', weighers: parseWeights(spec, 'spread weights'), lowestWins: false, goal: 'most free capacity first' });
}
