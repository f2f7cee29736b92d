export * from './catalog';
export * from './connection';
export * from './enqueue';
