import { startTelemetry } from '@minicloud/telemetry';
startTelemetry('provisioner');
