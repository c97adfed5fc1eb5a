import { Client } from 'pg';

/** Runs one query on a test database and returns its rows (a fresh connection each time, closed after). */
export async function sqlRows<T = any>(url: string, q: string, params: unknown[] = []): Promise<T[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(q, params)).rows as T[];
  } finally {
    await c.end();
  }
}
