import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { createHash } from 'crypto';
import { HostState, makeEvent, Subjects } from '@minicloud/contracts';
import { Bus } from '@minicloud/messaging';
import { SshPool } from '@minicloud/ssh';
import { SpanKind, withSpan } from '@minicloud/telemetry';
import { COLLECTOR_CONFIG, CollectorConfig } from '../config/collector-config';
import { LivenessTracker, Transition } from '../liveness/liveness';
import { COLLECTOR_METRICS, CollectorMetrics } from '../observability/collector-metrics';
import { MetricsRepository } from '../persistence/metrics.repository';
import { CollectTarget, Collector, RoundOutcome } from './collector';

export interface KnownHost extends CollectTarget {
  name: string;
  state: HostState;
}

/** Which replica collects a host (METRICS_SHARD=i/n): a stable hash of its id. */
export function inShard(hostId: string, index: number, count: number): boolean {
  if (count <= 1) return true;
  return createHash('sha1').update(hostId).digest().readUInt32BE(0) % count === index;
}

/**
 * Every interval, one round over the known hosts of this shard (Collector: bounded concurrency, per-host timeout,
 * reconnect backoff). Each host's outcome is published at once as host.metrics (+ vm.metrics), stamped with the
 * collection time and carrying the round's trace context; liveness transitions become host.state-changed.
 */
@Injectable()
export class CollectionService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('CollectionService');
  private readonly hosts = new Map<string, KnownHost>();
  private readonly collector: Collector;
  readonly liveness: LivenessTracker;
  private timer?: NodeJS.Timeout;
  private current: Promise<unknown> = Promise.resolve();
  private stopping = false;

  constructor(
    private readonly bus: Bus,
    private readonly repo: MetricsRepository,
    private readonly ssh: SshPool,
    @Inject(COLLECTOR_CONFIG) private readonly cfg: CollectorConfig,
    @Inject(COLLECTOR_METRICS) private readonly metrics: CollectorMetrics,
  ) {
    this.liveness = new LivenessTracker(cfg.missesForDown);
    this.collector = new Collector(
      (t, argv, timeoutMs) => this.ssh.exec({ address: t.address, port: t.port, user: t.user }, [...argv], { timeoutMs }),
      { hostTimeoutMs: cfg.hostTimeoutMs, concurrency: cfg.concurrency, backoffBaseMs: cfg.backoffBaseMs, backoffMaxMs: cfg.backoffMaxMs },
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    for (const h of await this.repo.listHosts()) this.track({ id: h.id, name: h.name, address: h.address, port: h.sshPort, user: h.sshUser, state: h.state });
    if (!this.cfg.collect) return;
    this.timer = setInterval(() => {
      if (!this.stopping) this.current = this.tick().catch((err) => this.log.error({ msg: 'collection round failed', err: String(err) }));
    }, this.cfg.intervalMs);
    this.current = this.tick();
    this.log.log({ msg: 'collecting', intervalMs: this.cfg.intervalMs, hosts: this.hosts.size, shard: `${this.cfg.shardIndex}/${this.cfg.shardCount}` });
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await this.current.catch(() => undefined);
    await this.ssh.close();
  }

  /** A host was registered (or its details changed): collected from the next round on. */
  track(h: KnownHost): void {
    const before = this.hosts.get(h.id);
    if (before && (before.address !== h.address || before.port !== h.port || before.user !== h.user)) this.collector.forget(h.id);
    this.hosts.set(h.id, h);
    this.liveness.setState(h.id, h.state);
  }

  /** A host was removed from the platform: no more rounds, its connection closed. */
  untrack(hostId: string): void {
    this.hosts.delete(hostId);
    this.collector.forget(hostId);
  }

  stateChanged(hostId: string, state: HostState): void {
    const h = this.hosts.get(hostId);
    if (h) h.state = state;
    this.liveness.setState(hostId, state);
  }

  knownHosts(): KnownHost[] {
    return [...this.hosts.values()];
  }

  /** One round over this shard's hosts; resolves when every host is done or timed out. */
  async tick(): Promise<RoundOutcome[]> {
    const targets = [...this.hosts.values()].filter((h) => inShard(h.id, this.cfg.shardIndex, this.cfg.shardCount));
    return this.collector.round(targets, (o) => this.onOutcome(o));
  }

  private async onOutcome(o: RoundOutcome): Promise<void> {
    this.metrics.rounds.inc({ outcome: o.ok ? 'ok' : o.kind });
    if (o.ok) {
      this.metrics.roundSeconds.observe(o.durationMs / 1000);
      this.metrics.sshBytes.inc({ direction: 'sent' }, o.bytesSent);
      this.metrics.sshBytes.inc({ direction: 'received' }, o.bytesReceived);
    }
    await withSpan('metrics collect host', { kind: SpanKind.INTERNAL, attributes: { 'minicloud.host_id': o.hostId, 'minicloud.collect.ok': o.ok } }, async () => {
      const occurredAt = o.collectedAt.toISOString();
      try {
        if (o.ok) {
          await this.bus.publish(Subjects.HostMetrics, { ...makeEvent(Subjects.HostMetrics, { hostId: o.hostId, ...o.host }), occurredAt });
          if (o.vms) await this.bus.publish(Subjects.VmMetrics, { ...makeEvent(Subjects.VmMetrics, { hostId: o.hostId, vms: o.vms }), occurredAt });
          if (o.problems.length) this.log.warn({ msg: 'host answered partly', hostId: o.hostId, problems: o.problems });
        } else {
          await this.bus.publish(Subjects.HostMetrics, { ...makeEvent(Subjects.HostMetrics, { hostId: o.hostId, error: `${o.kind}: ${o.error}`.slice(0, 2000) }), occurredAt });
        }
      } catch (err) {
        this.log.error({ msg: 'metrics not published', hostId: o.hostId, err: String((err as Error)?.message ?? err) });
      }
      const t = o.ok ? this.liveness.success(o.hostId) : this.liveness.miss(o.hostId, `${o.kind}: ${o.error}`, o.fatal);
      if (t) await this.announce(t);
    });
  }

  private async announce(t: Transition): Promise<void> {
    const h = this.hosts.get(t.hostId);
    if (h) h.state = t.state;
    this.log.warn({ msg: `host ${t.state}`, hostId: t.hostId, reason: t.reason });
    try {
      const e = await this.bus.publish(Subjects.HostStateChanged, { hostId: t.hostId, state: t.state, previousState: t.previousState, reason: t.reason });
      this.metrics.stateChanges.inc({ state: t.state });
      await this.repo.transaction((m) => this.repo.applyHostState(m, t.hostId, t.state, t.reason, new Date(e.occurredAt)));
    } catch (err) {
      // Not announced: undo, so the next round tries again.
      this.liveness.setState(t.hostId, t.previousState);
      if (h) h.state = t.previousState;
      this.log.error({ msg: 'host.state-changed not published', hostId: t.hostId, err: String((err as Error)?.message ?? err) });
    }
  }
}
