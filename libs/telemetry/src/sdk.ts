import { NodeSDK } from '@opentelemetry/sdk-node';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

let sdk: NodeSDK | undefined;

/**
 * Starts the OpenTelemetry SDK for one service. Must run before http/pg are loaded (each app's main.ts
 * imports its `tracing.ts` first). Export is configured by the standard variables: OTEL_EXPORTER_OTLP_ENDPOINT,
 * OTEL_EXPORTER_OTLP_PROTOCOL (http/protobuf by default, http/json), OTEL_TRACES_EXPORTER (otlp, console, none),
 * OTEL_SDK_DISABLED, OTEL_BSP_SCHEDULE_DELAY, OTEL_SERVICE_NAME (overrides the name given here).
 */
export function startTelemetry(serviceName: string): NodeSDK | undefined {
  if (sdk) return sdk;
  if (String(process.env.OTEL_SDK_DISABLED).toLowerCase() === 'true') return undefined;
  sdk = new NodeSDK({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: process.env.OTEL_SERVICE_NAME || serviceName,
      [ATTR_SERVICE_VERSION]: process.env.npm_package_version || '0.1.0',
      'service.namespace': 'minicloud',
    }),
    instrumentations: [
      new HttpInstrumentation({
        // Health probes would drown the real traces.
        ignoreIncomingRequestHook: (req) => (req.url ?? '').startsWith('/health'),
      }),
      new PgInstrumentation({ requireParentSpan: true }),
    ],
  });
  sdk.start();
  return sdk;
}

export async function stopTelemetry(): Promise<void> {
  if (!sdk) return;
  const s = sdk;
  sdk = undefined;
  await s.shutdown().catch(() => undefined);
}
