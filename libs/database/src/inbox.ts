import { EntityManager, MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The inbox pattern: a handler records the event id in the same transaction as its effects, so a redelivered
 * message is recognised and skipped. Each service has its own `inbox` table in its own schema.
 */
export async function firstDelivery(manager: EntityManager, schema: string, consumer: string, eventId: string): Promise<boolean> {
  const rows: unknown[] = await manager.query(
    `INSERT INTO ${schema}.inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING event_id`,
    [consumer, eventId],
  );
  return rows.length === 1;
}

/** Migration fragment creating the inbox table; call from a service's first migration. */
export async function createInboxTable(qr: QueryRunner, schema: string): Promise<void> {
  await qr.query(`CREATE TABLE IF NOT EXISTS ${schema}.inbox (
    consumer text NOT NULL,
    event_id uuid NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
  )`);
}

export type { MigrationInterface, QueryRunner };
