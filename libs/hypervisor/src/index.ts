export * from './types';
export * from './errors';
export * from './layout';
export * from './commands';
export * from './parsers';
export * from './domain-xml';
export * from './libvirt-driver';
export * from './seed';
