import { INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { JsonLogger } from '@minicloud/telemetry';
import { restValidationPipe } from './validation';

export interface BootstrapOptions {
  name: string;
  defaultPort: number;
  /** Called before listen (e.g. to mount Swagger). */
  configure?: (app: INestApplication) => void | Promise<void>;
}

/** Starts one service: JSON logs with trace ids, validation, shutdown hooks, HTTP on PORT (health and API). */
export async function bootstrapService(module: Type<unknown>, o: BootstrapOptions): Promise<INestApplication> {
  const logger = new JsonLogger(o.name);
  const app = await NestFactory.create(module, { logger, bufferLogs: false });
  app.useGlobalPipes(restValidationPipe());
  app.enableShutdownHooks();
  await o.configure?.(app);
  const port = Number(process.env.PORT ?? o.defaultPort);
  const host = process.env.HOST ?? '127.0.0.1';
  await app.listen(port, host);
  logger.log({ msg: `${o.name} listening`, port, host }, 'Bootstrap');
  return app;
}
