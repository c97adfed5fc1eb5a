export * from './format';
export * from './model';
export * from './choose';
export * from './history';
