export * from './catalog';
export * from './connection';
export * from './enqueue';
export * from './readiness';
