import { Controller, Get, HttpException, HttpStatus, Inject, Optional } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { Bus } from '@minicloud/messaging';
import { SERVICE_NAME } from './bus.module';

/** Liveness (the process answers) and readiness (NATS with JetStream and Postgres answer). */
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    @Inject(Bus) private readonly bus: Bus,
    @Inject(SERVICE_NAME) private readonly service: string,
    @Optional() @Inject(DataSource) private readonly db?: DataSource,
  ) {}

  @Get('live')
  live() {
    return { status: 'ok', service: this.service };
  }

  @Get('ready')
  async ready() {
    const checks: Record<string, { status: 'up' | 'down'; error?: string }> = {};
    try {
      await withTimeout(this.bus.ping(), 2000);
      checks.nats = { status: 'up' };
    } catch (e) {
      checks.nats = { status: 'down', error: (e as Error).message };
    }
    if (this.db) {
      try {
        await withTimeout(this.db.query('SELECT 1'), 2000);
        checks.postgres = { status: 'up' };
      } catch (e) {
        checks.postgres = { status: 'down', error: (e as Error).message };
      }
    }
    const ok = Object.values(checks).every((c) => c.status === 'up');
    const body = { status: ok ? 'ok' : 'unavailable', service: this.service, checks };
    if (!ok) throw new HttpException(body, HttpStatus.SERVICE_UNAVAILABLE);
    return body;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, rej) => setTimeout(() => rej(new Error(`no answer within ${ms} ms`)), ms))]);
}
