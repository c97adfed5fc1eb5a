import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { rowsOf } from './sql';

/** scheduler.cursor: one opaque value per placement policy. */
@Injectable()
export class CursorRepository {
  async get(m: EntityManager, policy: string): Promise<string | null> {
    const rows = await rowsOf<{ value: string | null }>(m, `SELECT value FROM scheduler.cursor WHERE policy = $1`, [policy]);
    return rows.length ? rows[0].value : null;
  }

  async set(m: EntityManager, policy: string, value: string | null): Promise<void> {
    await m.query(
      `INSERT INTO scheduler.cursor (policy, value) VALUES ($1, $2)
       ON CONFLICT (policy) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
      [policy, value],
    );
  }
}
