export const SERVICE = 'metrics-collector';
export const SCHEMA = 'metrics';

/** Durable consumer names: <service>-<subject with dashes>. */
export const Durables = {
  hostRegistered: 'metrics-collector-host-registered',
  hostStateChanged: 'metrics-collector-host-state-changed',
  hostRemoved: 'metrics-collector-host-removed',
  hostMetrics: 'metrics-collector-host-metrics',
  vmMetrics: 'metrics-collector-vm-metrics',
} as const;

/** Queue group answering rpc.metrics.* (one replica answers each request). */
export const RPC_QUEUE = 'metrics-collector';
