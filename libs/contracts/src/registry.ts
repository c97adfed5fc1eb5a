import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { randomUUID } from 'crypto';
import { Subject, Subjects } from './subjects';
import { BusEvent, SCHEMA_VERSION } from './events/base';
import {
  VmDeletedEvent,
  VmRequestedEvent,
  VmScheduledEvent,
  VmScheduleFailedEvent,
  VmStateChangedEvent,
} from './events/vm';
import { HostMetricsEvent, HostRegisteredEvent, HostStateChangedEvent, VmMetricsEvent } from './events/host';
import { ImageRegisteredEvent } from './events/image';
import { HostRemovedEvent, VmActionRequestedEvent, VmOperationFinishedEvent } from './events/lifecycle';
import {
  MigrationCompletedEvent,
  MigrationControlEvent,
  MigrationFailedEvent,
  MigrationPlannedEvent,
  MigrationProgressEvent,
  MigrationRequestedEvent,
  MigrationStartedEvent,
} from './events/migration';
import { ReservationChangedEvent, VmPreemptRequestedEvent, VmQueuedEvent } from './events/scheduler';

type Ctor<T> = new () => T;

/** Subject → payload class. The single source for validation and for docs/events.md. */
export const EventClasses = {
  [Subjects.VmRequested]: VmRequestedEvent,
  [Subjects.VmActionRequested]: VmActionRequestedEvent,
  [Subjects.VmOperationFinished]: VmOperationFinishedEvent,
  [Subjects.HostRemoved]: HostRemovedEvent,
  [Subjects.VmScheduled]: VmScheduledEvent,
  [Subjects.VmScheduleFailed]: VmScheduleFailedEvent,
  [Subjects.VmStateChanged]: VmStateChangedEvent,
  [Subjects.VmDeleted]: VmDeletedEvent,
  [Subjects.HostRegistered]: HostRegisteredEvent,
  [Subjects.HostMetrics]: HostMetricsEvent,
  [Subjects.VmMetrics]: VmMetricsEvent,
  [Subjects.HostStateChanged]: HostStateChangedEvent,
  [Subjects.ImageRegistered]: ImageRegisteredEvent,
  [Subjects.MigrationRequested]: MigrationRequestedEvent,
  [Subjects.MigrationPlanned]: MigrationPlannedEvent,
  [Subjects.MigrationStarted]: MigrationStartedEvent,
  [Subjects.MigrationControl]: MigrationControlEvent,
  [Subjects.MigrationProgress]: MigrationProgressEvent,
  [Subjects.MigrationCompleted]: MigrationCompletedEvent,
  [Subjects.MigrationFailed]: MigrationFailedEvent,
  [Subjects.VmQueued]: VmQueuedEvent,
  [Subjects.VmPreemptRequested]: VmPreemptRequestedEvent,
  [Subjects.ReservationCreated]: ReservationChangedEvent,
  [Subjects.ReservationCancelled]: ReservationChangedEvent,
  [Subjects.ReservationEnded]: ReservationChangedEvent,
} satisfies Record<Subject, Ctor<BusEvent>>;

export type EventOf<S extends Subject> = InstanceType<(typeof EventClasses)[S]>;
/** What a publisher fills in; the envelope fields are added by `makeEvent`. */
export type EventBody<S extends Subject> = Omit<EventOf<S>, 'schemaVersion' | 'eventId' | 'occurredAt'>;

export class ContractViolation extends Error {
  constructor(
    readonly subject: string,
    readonly problems: string[],
  ) {
    super(`invalid ${subject} message: ${problems.join('; ')}`);
  }
}

/** Flattens class-validator errors into "field.path: reason" strings. */
export function describeValidationErrors(errors: ValidationError[], parent = ''): string[] {
  const out: string[] = [];
  for (const e of errors) {
    const path = parent ? `${parent}.${e.property}` : e.property;
    if (e.constraints) for (const msg of Object.values(e.constraints)) out.push(`${path}: ${msg}`);
    if (e.children?.length) out.push(...describeValidationErrors(e.children, path));
  }
  return out;
}

/** Validates any plain object against a class; returns the typed instance or throws ContractViolation. */
export function validateAs<T extends object>(
  cls: Ctor<T>,
  plain: unknown,
  label: string,
  opts: { forbidUnknown?: boolean } = {},
): T {
  if (plain === null || typeof plain !== 'object' || Array.isArray(plain)) {
    throw new ContractViolation(label, ['payload must be a JSON object']);
  }
  const instance = plainToInstance(cls, plain);
  const errors = validateSync(instance as object, {
    whitelist: true,
    // On the bus, unknown fields are dropped (a newer publisher may add fields); at the REST edge they are refused.
    forbidNonWhitelisted: opts.forbidUnknown ?? false,
  });
  if (errors.length) throw new ContractViolation(label, describeValidationErrors(errors));
  return instance;
}

export function validateEvent<S extends Subject>(subject: S, plain: unknown): EventOf<S> {
  const cls = EventClasses[subject] as unknown as Ctor<EventOf<S>>;
  if (!cls) throw new ContractViolation(subject, [`no contract for subject ${subject}`]);
  return validateAs(cls, plain, subject);
}

export function makeEvent<S extends Subject>(_subject: S, body: EventBody<S>): EventOf<S> {
  return {
    schemaVersion: SCHEMA_VERSION,
    eventId: randomUUID(),
    occurredAt: new Date().toISOString(),
    ...body,
  } as EventOf<S>;
}

export function isKnownSubject(s: string): s is Subject {
  return Object.prototype.hasOwnProperty.call(EventClasses, s);
}
