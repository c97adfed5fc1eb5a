import { startTelemetry } from '@minicloud/telemetry';
startTelemetry('metrics-collector');
