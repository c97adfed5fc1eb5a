import { startTelemetry } from '@minicloud/telemetry';
startTelemetry('scheduler');
