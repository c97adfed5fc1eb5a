import type { HostState } from '@minicloud/contracts';

export interface Transition {
  hostId: string;
  state: 'up' | 'down';
  previousState: HostState;
  reason: string;
}

/**
 * Host liveness from collection rounds: `missesForDown` missed rounds in a row — or one round whose SSH failed in a
 * way retrying cannot fix (host key mismatch, key refused) — take an `up` host `down`; its first good round brings
 * a `down` host back `up`. Hosts an operator set to disabled/maintenance are left alone. Pure: the caller publishes.
 */
export class LivenessTracker {
  private readonly hosts = new Map<string, { state: HostState; misses: number }>();

  constructor(private readonly missesForDown: number) {}

  /**
   * The host's state as the platform knows it (registration, host.state-changed, or our own transitions). A new
   * state starts the count afresh: misses while in maintenance do not take the host down the moment it is up.
   */
  setState(hostId: string, state: HostState): void {
    const h = this.hosts.get(hostId);
    if (!h) this.hosts.set(hostId, { state, misses: 0 });
    else if (h.state !== state) {
      h.state = state;
      h.misses = 0;
    }
  }

  state(hostId: string): HostState | undefined {
    return this.hosts.get(hostId)?.state;
  }

  misses(hostId: string): number {
    return this.hosts.get(hostId)?.misses ?? 0;
  }

  forget(hostId: string): void {
    this.hosts.delete(hostId);
  }

  success(hostId: string): Transition | undefined {
    const h = this.hosts.get(hostId);
    if (!h) return undefined;
    h.misses = 0;
    if (h.state !== 'down') return undefined;
    h.state = 'up';
    return { hostId, state: 'up', previousState: 'down', reason: 'metrics collection succeeded again' };
  }

  miss(hostId: string, reason: string, fatal = false): Transition | undefined {
    const h = this.hosts.get(hostId);
    if (!h) return undefined;
    h.misses++;
    if (h.state !== 'up') return undefined;
    if (!fatal && h.misses < this.missesForDown) return undefined;
    h.state = 'down';
    const why = fatal
      ? `SSH to the host failed: ${reason}`
      : `missed ${h.misses} metrics collection rounds in a row; last: ${reason}`;
    return { hostId, state: 'down', previousState: 'up', reason: why.slice(0, 2000) };
  }
}
