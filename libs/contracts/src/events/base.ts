import { Equals, IsISO8601, IsUUID } from 'class-validator';

export const SCHEMA_VERSION = 1;

/** Fields every bus message carries. */
export abstract class BusEvent {
  /** Bumped on a breaking change of the payload; consumers reject versions they do not know. */
  @Equals(SCHEMA_VERSION, { message: 'schemaVersion must be 1' })
  schemaVersion: number = SCHEMA_VERSION;

  /** Unique per event; consumers use it (with the subject) to drop duplicates. */
  @IsUUID()
  eventId!: string;

  @IsISO8601({ strict: true })
  occurredAt!: string;
}
