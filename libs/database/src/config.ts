import { Client } from 'pg';
import { DataSource, DataSourceOptions, EntitySchema, MigrationInterface } from 'typeorm';

export function databaseUrl(): string {
  return process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/minicloud';
}

/** Creates the database (if the role may) and the service's schema before TypeORM connects. */
export async function ensureDatabaseAndSchema(url: string, schema: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`bad schema name ${schema}`);
  const u = new URL(url);
  const dbName = decodeURIComponent(u.pathname.replace(/^\//, '')) || 'minicloud';
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const c1 = new Client({ connectionString: admin.toString() });
  await c1.connect();
  try {
    const r = await c1.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName]);
    if (r.rowCount === 0) {
      await c1.query(`CREATE DATABASE "${dbName.replace(/"/g, '""')}"`).catch((e) => {
        if (!/already exists/.test(String(e.message))) throw e;
      });
    }
  } finally {
    await c1.end();
  }
  const c2 = new Client({ connectionString: url });
  await c2.connect();
  try {
    await c2.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`).catch((e) => {
      // Two services starting at once may race on the same schema (replicas).
      if (!/already exists|duplicate key/.test(String(e.message))) throw e;
    });
  } finally {
    await c2.end();
  }
}

export interface ServiceDataSourceOptions {
  /** The service's own schema: it never reads another's. */
  schema: string;
  entities: (Function | EntitySchema)[];
  migrations: (new () => MigrationInterface)[];
  url?: string;
  poolSize?: number;
}

/** TypeORM options for one service: its own schema, its migrations run at start, never `synchronize`. */
export function serviceDataSourceOptions(o: ServiceDataSourceOptions): DataSourceOptions {
  return {
    type: 'postgres',
    url: o.url ?? databaseUrl(),
    schema: o.schema,
    entities: o.entities,
    migrations: o.migrations,
    migrationsTableName: 'typeorm_migrations',
    migrationsRun: true,
    migrationsTransactionMode: 'each',
    synchronize: false,
    extra: { max: o.poolSize ?? 10, application_name: `minicloud-${o.schema}` },
  };
}

export async function createServiceDataSource(o: ServiceDataSourceOptions): Promise<DataSource> {
  const opts = serviceDataSourceOptions(o);
  await ensureDatabaseAndSchema((opts as { url: string }).url, o.schema);
  const ds = new DataSource(opts);
  await ds.initialize();
  return ds;
}
