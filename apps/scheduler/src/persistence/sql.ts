import { EntityManager } from 'typeorm';

/**
 * Runs SQL and returns its rows. TypeORM's postgres driver returns `[rows, affectedCount]` for UPDATE/DELETE
 * (and plain rows for SELECT/INSERT); this hides the difference so `... RETURNING` reads the same everywhere.
 */
export async function rowsOf<T>(m: EntityManager, sql: string, params: unknown[] = []): Promise<T[]> {
  const res: unknown = await m.query(sql, params);
  if (Array.isArray(res) && res.length === 2 && Array.isArray(res[0]) && typeof res[1] === 'number') return res[0] as T[];
  return res as T[];
}
