import { startTelemetry } from '@minicloud/telemetry';
startTelemetry('gateway');
