export * from './config';
export * from './inbox';
export * from './rows';
