export * from './env';
export * from './errors';
export * from './health';
export * from './runtime';
