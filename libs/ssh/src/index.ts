export * from './quote';
export * from './errors';
export * from './known-hosts';
export * from './retry';
export * from './pool';
