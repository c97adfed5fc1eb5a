import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { IDEMPOTENCY_TTL_MS, StoredRequest } from './idempotency';

/** SQL of gateway.idempotency_keys (raw: the interceptor needs insert-if-absent semantics). */
@Injectable()
export class IdempotencyRepository {
  constructor(@InjectDataSource() readonly db: DataSource) {}

  /**
   * Claims `key` for a new request (status null = in progress). Expired keys are dropped first. Returns true when
   * this call claimed it, false when the key is already held (then `find` tells by what).
   */
  async claim(key: string, method: string, path: string, hash: string): Promise<boolean> {
    await this.db.query(`DELETE FROM gateway.idempotency_keys WHERE created_at < now() - ($1 || ' milliseconds')::interval`, [String(IDEMPOTENCY_TTL_MS)]);
    const rows: unknown[] = await this.db.query(
      `INSERT INTO gateway.idempotency_keys (key, method, path, request_hash) VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING RETURNING key`,
      [key, method, path, hash],
    );
    return rows.length === 1;
  }

  async find(key: string): Promise<StoredRequest | null> {
    const rows: { request_hash: string; status: number | null; location: string | null; response_body: unknown; created_at: Date }[] = await this.db.query(
      `SELECT request_hash, status, location, response_body, created_at FROM gateway.idempotency_keys WHERE key = $1`,
      [key],
    );
    if (!rows.length) return null;
    const r = rows[0];
    return { requestHash: r.request_hash, status: r.status, location: r.location, responseBody: r.response_body, createdAt: new Date(r.created_at) };
  }

  async complete(key: string, status: number, location: string | null, body: unknown): Promise<void> {
    await this.db.query(`UPDATE gateway.idempotency_keys SET status = $2, location = $3, response_body = $4 WHERE key = $1`, [
      key,
      status,
      location,
      body === undefined ? null : JSON.stringify(body),
    ]);
  }

  /** Frees a key whose request failed, so the client can retry with it. */
  async release(key: string): Promise<void> {
    await this.db.query(`DELETE FROM gateway.idempotency_keys WHERE key = $1 AND status IS NULL`, [key]);
  }
}
