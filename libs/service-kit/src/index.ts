export * from './bus.module';
export * from './database.module';
export * from './health.controller';
export * from './validation';
export * from './bootstrap';
