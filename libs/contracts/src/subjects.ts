/**
 * Every subject on the minicloud bus. This is the public interface other systems subscribe to
 * (docs/events.md documents each one); renaming a subject is a breaking change.
 */
export const Subjects = {
  VmRequested: 'vm.requested',
  VmScheduled: 'vm.scheduled',
  VmScheduleFailed: 'vm.schedule-failed',
  VmStateChanged: 'vm.state-changed',
  VmDeleted: 'vm.deleted',
  HostRegistered: 'host.registered',
  HostMetrics: 'host.metrics',
  VmMetrics: 'vm.metrics',
  HostStateChanged: 'host.state-changed',
  ImageRegistered: 'image.registered',
  MigrationRequested: 'migration.requested',
  MigrationPlanned: 'migration.planned',
  MigrationStarted: 'migration.started',
  MigrationProgress: 'migration.progress',
  MigrationCompleted: 'migration.completed',
  MigrationFailed: 'migration.failed',
  MigrationControl: 'migration.control',
  // Scheduler (issue 4): see docs/scheduler.md.
  VmQueued: 'vm.queued',
  VmPreemptRequested: 'vm.preempt-requested',
  ReservationCreated: 'reservation.created',
  ReservationCancelled: 'reservation.cancelled',
  ReservationEnded: 'reservation.ended',
  // VM lifecycle actions and host administration (issue 3).
  VmActionRequested: 'vm.action-requested',
  VmOperationFinished: 'vm.operation-finished',
  HostRemoved: 'host.removed',
} as const;
export type Subject = (typeof Subjects)[keyof typeof Subjects];

/** Request/reply subjects (core NATS, answered by one replica of the owning service's queue group). */
export const Rpc = {
  HostRegister: 'rpc.provisioner.host.register',
  ImageRegister: 'rpc.provisioner.image.register',
  VmConsole: 'rpc.provisioner.vm.console',
  HostAdminState: 'rpc.provisioner.host.admin-state',
  HostRemove: 'rpc.provisioner.host.remove',
  // Live migration (issue 6): the provisioner puts the VM's files on the target before the migrator starts.
  VmPrepareMigration: 'rpc.provisioner.vm.prepare-migration',
  // Answered by the scheduler (issue 4).
  SchedulerQueue: 'rpc.scheduler.queue.list',
  ReservationCreate: 'rpc.scheduler.reservation.create',
  ReservationList: 'rpc.scheduler.reservation.list',
  ReservationGet: 'rpc.scheduler.reservation.get',
  ReservationCancel: 'rpc.scheduler.reservation.cancel',
  // The migration planner and host maintenance (issue 6), answered by the scheduler.
  RecommendationList: 'rpc.scheduler.recommendation.list',
  RecommendationApply: 'rpc.scheduler.recommendation.apply',
  RecommendationDismiss: 'rpc.scheduler.recommendation.dismiss',
  PlannerSettingsGet: 'rpc.scheduler.planner.settings.get',
  PlannerSettingsSet: 'rpc.scheduler.planner.settings.set',
  HostMaintenance: 'rpc.scheduler.host.maintenance',
  // Starting a stopped VM: the scheduler confirms (or takes again) its claim on its own host first.
  VmStartClaim: 'rpc.scheduler.vm.start-claim',
  // Answered by the metrics-collector (issue 5).
  MetricsHostSeries: 'rpc.metrics.host.series',
  MetricsVmSeries: 'rpc.metrics.vm.series',
  MetricsLatest: 'rpc.metrics.latest',
} as const;
export type RpcSubject = (typeof Rpc)[keyof typeof Rpc];

/** Dead letters go to `deadletter.<consumer>.<original subject>` with the reason in headers and body. */
export const DEAD_LETTER_PREFIX = 'deadletter';
export function deadLetterSubject(consumer: string, subject: string): string {
  return `${DEAD_LETTER_PREFIX}.${consumer}.${subject}`;
}

export interface StreamSpec {
  name: string;
  subjects: string[];
  /** Max age in seconds (0 = unlimited). */
  maxAgeSeconds: number;
  description: string;
}

/**
 * JetStream streams. Lifecycle events are kept (work-queue semantics are per consumer, the stream keeps
 * history for late subscribers); metrics are high-volume and short-lived.
 */
export const Streams: StreamSpec[] = [
  {
    name: 'MINICLOUD_EVENTS',
    subjects: [
      'vm.requested',
      'vm.scheduled',
      'vm.schedule-failed',
      'vm.state-changed',
      'vm.deleted',
      'host.registered',
      'host.state-changed',
      'image.registered',
      'migration.requested',
      'migration.planned',
      'migration.started',
      'migration.completed',
      'migration.failed',
      'migration.control',
      'vm.action-requested',
      'vm.operation-finished',
      'host.removed',
      'vm.queued',
      'vm.preempt-requested',
      'reservation.created',
      'reservation.cancelled',
      'reservation.ended',
    ],
    maxAgeSeconds: 7 * 24 * 3600,
    description: 'Lifecycle events: must not be lost',
  },
  {
    name: 'MINICLOUD_TELEMETRY',
    subjects: ['host.metrics', 'vm.metrics', 'migration.progress'],
    maxAgeSeconds: 3600,
    description: 'Metrics and progress: high volume, kept one hour',
  },
  {
    name: 'MINICLOUD_DEADLETTER',
    subjects: [`${DEAD_LETTER_PREFIX}.>`],
    maxAgeSeconds: 30 * 24 * 3600,
    description: 'Messages that failed validation or exceeded their delivery limit, with the reason',
  },
];
