export * from './tracing';
export * from './logger';
export { startTelemetry, stopTelemetry } from './sdk';
