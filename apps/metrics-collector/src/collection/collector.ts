import type { VmMetricsSample } from '@minicloud/contracts';
import { HostKeyMismatchError, SshAuthError, SshCommandError, SshTimeoutError, SshUnreachableError, backoffDelay, quoteArgv } from '@minicloud/ssh';
import { parseProbe, ProbeParseError, ProbeResult } from './parsers';
import { PROBE_ARGV } from './probe-script';
import { HostValues, hostValues, vmSamples } from './rates';

export interface CollectTarget {
  id: string;
  address: string;
  port: number;
  user: string;
}

/** Runs the probe on a host (SshPool.exec in production). */
export type ProbeExec = (target: CollectTarget, argv: readonly string[], timeoutMs: number) => Promise<{ stdout: string; stderr: string }>;

export type FailureKind = 'unreachable' | 'auth' | 'timeout' | 'garbled' | 'busy' | 'backoff' | 'error';

export type RoundOutcome =
  | {
      ok: true;
      hostId: string;
      /** When the host answered: the samples' timestamp. */
      collectedAt: Date;
      host: HostValues;
      /** Absent when libvirt did not answer this round (then no vm.metrics is published). */
      vms?: VmMetricsSample[];
      /** Sections the host could not answer (libvirt down, no image store). */
      problems: string[];
      durationMs: number;
      bytesSent: number;
      bytesReceived: number;
    }
  | {
      ok: false;
      hostId: string;
      collectedAt: Date;
      kind: FailureKind;
      /** A failure retrying cannot fix (host key mismatch, key refused). */
      fatal: boolean;
      error: string;
      durationMs: number;
    };

export interface CollectorOptions {
  hostTimeoutMs: number;
  concurrency: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  now?: () => number;
}

interface HostState {
  prev?: ProbeResult;
  busy: boolean;
  failures: number;
  nextAttemptAt: number;
  lastError?: string;
}

class TimeoutError extends Error {}

const COMMAND_BYTES = Buffer.byteLength(quoteArgv(PROBE_ARGV));

/**
 * One collection round over a set of hosts: at most `concurrency` hosts at once, each bounded by `hostTimeoutMs`
 * (connect + command), so one slow host never delays the others. A host still busy from an earlier round, or
 * waiting out its reconnect backoff, is a missed round (reported, never silently skipped). The previous good
 * probe of each host is kept for the deltas.
 */
export class Collector {
  private readonly hosts = new Map<string, HostState>();
  private readonly now: () => number;
  private running = 0;
  private readonly queue: (() => void)[] = [];

  constructor(
    private readonly exec: ProbeExec,
    private readonly o: CollectorOptions,
  ) {
    this.now = o.now ?? Date.now;
  }

  forget(hostId: string): void {
    this.hosts.delete(hostId);
  }

  /** Collects every target once; resolves with one outcome per target when all are done (or timed out). */
  async round(targets: CollectTarget[], onOutcome?: (o: RoundOutcome) => void | Promise<void>): Promise<RoundOutcome[]> {
    return Promise.all(
      targets.map(async (t) => {
        const o = await this.collectOne(t);
        await onOutcome?.(o);
        return o;
      }),
    );
  }

  private state(id: string): HostState {
    let s = this.hosts.get(id);
    if (!s) {
      s = { busy: false, failures: 0, nextAttemptAt: 0 };
      this.hosts.set(id, s);
    }
    return s;
  }

  async collectOne(t: CollectTarget): Promise<RoundOutcome> {
    const s = this.state(t.id);
    const started = this.now();
    const fail = (kind: FailureKind, error: string, fatal = false): RoundOutcome => ({
      ok: false,
      hostId: t.id,
      collectedAt: new Date(this.now()),
      kind,
      fatal,
      error,
      durationMs: this.now() - started,
    });
    if (s.busy) return fail('busy', 'the previous round of this host has not finished yet');
    if (started < s.nextAttemptAt) {
      return fail('backoff', `not attempted: reconnect backoff after ${s.failures} failed rounds (last: ${s.lastError ?? 'unknown'})`);
    }
    s.busy = true;
    await this.slot();
    const began = this.now();
    const work = Promise.resolve().then(() => this.exec(t, PROBE_ARGV, this.o.hostTimeoutMs));
    // The host (and its concurrency slot) is free again only when the command really ended, even if the round
    // stopped waiting for it: a hung connection never piles up a second command on the same host.
    void work
      .catch(() => undefined)
      .finally(() => {
        s.busy = false;
        this.releaseSlot();
      });
    try {
      let timer: NodeJS.Timeout | undefined;
      const res = await Promise.race([
        work,
        new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new TimeoutError(`no answer within ${this.o.hostTimeoutMs} ms`)), this.o.hostTimeoutMs))),
      ]).finally(() => clearTimeout(timer));
      const collectedAt = new Date(this.now());
      const probe = parseProbe(res.stdout);
      const host = hostValues(probe, s.prev);
      const vms = probe.domains ? vmSamples(probe, s.prev) : undefined;
      s.prev = probe;
      s.failures = 0;
      s.nextAttemptAt = 0;
      s.lastError = undefined;
      return {
        ok: true,
        hostId: t.id,
        collectedAt,
        host,
        ...(vms ? { vms } : {}),
        problems: probe.problems,
        durationMs: this.now() - began,
        bytesSent: COMMAND_BYTES,
        bytesReceived: Buffer.byteLength(res.stdout) + Buffer.byteLength(res.stderr),
      };
    } catch (err) {
      const { kind, fatal } = classify(err);
      const msg = ((err as Error)?.message ?? String(err)).slice(0, 1500);
      s.failures++;
      s.lastError = msg;
      // Garbled output: the connection works, try again next round. Connection trouble: back off (the first
      // retry is the next round, then 1, 3, 7… intervals, capped).
      s.nextAttemptAt = kind === 'garbled' ? 0 : this.now() + backoffDelay(s.failures, this.o.backoffBaseMs, this.o.backoffMaxMs) - this.o.backoffBaseMs;
      // After garbage the counters seen last are not trusted: the next good round starts a new delta chain.
      // (After a connection failure the last good probe stays valid: the next rates span the gap, over the host's clock.)
      if (kind === 'garbled') s.prev = undefined;
      return fail(kind, msg, fatal);
    }
  }

  private slot(): Promise<void> {
    if (this.running < this.o.concurrency) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((r) => this.queue.push(() => r()));
  }

  private releaseSlot(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.running--;
  }
}

function classify(err: unknown): { kind: FailureKind; fatal: boolean } {
  if (err instanceof HostKeyMismatchError || err instanceof SshAuthError) return { kind: 'auth', fatal: true };
  if (err instanceof SshUnreachableError) return { kind: 'unreachable', fatal: false };
  if (err instanceof SshTimeoutError || err instanceof TimeoutError) return { kind: 'timeout', fatal: false };
  if (err instanceof ProbeParseError || err instanceof SshCommandError) return { kind: 'garbled', fatal: false };
  return { kind: 'error', fatal: false };
}
