import type { EntityManager } from 'typeorm';

/** The rows of a query result: TypeORM answers an UPDATE/DELETE … RETURNING on Postgres with [rows, affected count]. */
export function resultRows<T>(res: unknown): T[] {
  if (Array.isArray(res) && res.length === 2 && Array.isArray(res[0]) && typeof res[1] === 'number') return res[0] as T[];
  return res as T[];
}

/** Runs a query and returns its rows, whatever the statement (SELECT, INSERT/UPDATE/DELETE … RETURNING). */
export async function rowsOf<T>(m: Pick<EntityManager, 'query'>, sql: string, params: unknown[] = []): Promise<T[]> {
  return resultRows<T>(await m.query(sql, params));
}
