export * from './config';
export * from './inbox';
