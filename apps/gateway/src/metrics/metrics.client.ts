import { HttpException, Injectable, Logger } from '@nestjs/common';
import { HostLatestMetrics, MetricsLatestReply, MetricsSeries, Rpc, VmLatestMetrics } from '@minicloud/contracts';
import { Bus, RpcError } from '@minicloud/messaging';
import { reasonPhrase } from '../http/errors';

/** Latest values are an extra on list/get answers: never worth more than this wait. */
export const METRICS_LATEST_TIMEOUT_MS = 1500;
export const METRICS_SERIES_TIMEOUT_MS = 15_000;

/** The gateway's side of rpc.metrics.* (answered by the metrics-collector). */
@Injectable()
export class MetricsClient {
  private readonly log = new Logger('MetricsClient');

  constructor(private readonly bus: Bus) {}

  /** A series; the collector's 400 (bad range/step) is the client's, other failures map like other RPCs. */
  async series(kind: 'host' | 'vm', id: string, q: { from?: string; to?: string; step?: number }): Promise<MetricsSeries> {
    const body: Record<string, unknown> = { id };
    if (q.from !== undefined) body.from = q.from;
    if (q.to !== undefined) body.to = q.to;
    if (q.step !== undefined) body.step = q.step;
    try {
      return await this.bus.request<MetricsSeries>(kind === 'host' ? Rpc.MetricsHostSeries : Rpc.MetricsVmSeries, body, METRICS_SERIES_TIMEOUT_MS);
    } catch (err) {
      if (err instanceof RpcError) {
        const status = err.status === 400 || err.status === 503 || err.status === 504 ? err.status : 502;
        const message = status === 502 ? `metrics-collector failed (${err.status}): ${err.message}` : err.message;
        throw new HttpException({ statusCode: status, error: reasonPhrase(status), message }, status);
      }
      throw err;
    }
  }

  /**
   * The newest round of the given hosts/VMs. Best effort: when the collector does not answer in time the answer
   * simply has no latest values (the caller shows null), it never fails a list or a get.
   */
  async latest(hostIds: string[], vmIds: string[]): Promise<{ hosts: Record<string, HostLatestMetrics>; vms: Record<string, VmLatestMetrics> }> {
    if (!hostIds.length && !vmIds.length) return { hosts: {}, vms: {} };
    try {
      return await this.bus.request<MetricsLatestReply>(Rpc.MetricsLatest, { hostIds, vmIds }, METRICS_LATEST_TIMEOUT_MS);
    } catch (err) {
      this.log.debug({ msg: 'no latest metrics', err: String((err as Error)?.message ?? err) });
      return { hosts: {}, vms: {} };
    }
  }
}
