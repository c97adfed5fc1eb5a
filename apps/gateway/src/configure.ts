import { INestApplication } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { JsonLogger } from '@minicloud/telemetry';
import { ApiExceptionFilter } from './http/api-exception.filter';

/** Bodies carry up to 64 KiB of user data plus 16 SSH keys of up to 8 KiB: leave room, refuse the rest. */
export const BODY_LIMIT = '512kb';

/** The gateway's HTTP edge on top of bootstrapService: error shape, body limit, OpenAPI at /docs(-json). */
export function configureGateway(app: INestApplication): void {
  const express = app as NestExpressApplication;
  express.useBodyParser('json', { limit: BODY_LIMIT });
  app.useGlobalFilters(new ApiExceptionFilter(new JsonLogger('gateway')));
  const config = new DocumentBuilder()
    .setTitle('minicloud API')
    .setDescription('Private-cloud control plane: VMs, hypervisor hosts and images. Errors are { statusCode, error, message, errors? }.')
    .setVersion('1')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}
