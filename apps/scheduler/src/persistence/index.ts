import { ClaimEntity } from './claim.entity';
import { CursorEntity } from './cursor.entity';
import { HostEntity } from './host.entity';
import { SchedulerInit1732240000000 } from './migrations/1732240000000-scheduler-init';
import { SchedulerIssue41732250000000 } from './migrations/1732250000000-scheduler-issue4';
import { SchedulerMigrationHolds1732260000000 } from './migrations/1732260000000-scheduler-migration-holds';
import { SchedulerPlanner1732270000000 } from './migrations/1732270000000-scheduler-planner';
import { SchedulerHoldTimeouts1732310000000 } from './migrations/1732310000000-scheduler-hold-timeouts';
import { SchedulerSharedStorage1732330000000 } from './migrations/1732330000000-scheduler-shared-storage';
import { SchedulerPreemptMigrate1732340000000 } from './migrations/1732340000000-scheduler-preempt-migrate';
import { SchedulerBatchClaimFn1732350000000 } from './migrations/1732350000000-scheduler-batch-claim-fn';
import { ScheduleFailureEntity } from './schedule-failure.entity';

export * from './claim.repository';
export * from './cursor.repository';
export * from './host.repository';
export * from './maintenance.repository';
export * from './migration-hold.repository';
export * from './planner.repository';
export * from './queue.repository';
export * from './reservation.repository';

export const entities = [HostEntity, ClaimEntity, CursorEntity, ScheduleFailureEntity];
export const migrations = [SchedulerInit1732240000000, SchedulerIssue41732250000000, SchedulerMigrationHolds1732260000000, SchedulerPlanner1732270000000, SchedulerHoldTimeouts1732310000000, SchedulerSharedStorage1732330000000, SchedulerPreemptMigrate1732340000000, SchedulerBatchClaimFn1732350000000];
