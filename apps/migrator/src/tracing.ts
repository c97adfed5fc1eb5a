import { startTelemetry } from '@minicloud/telemetry';
startTelemetry('migrator');
