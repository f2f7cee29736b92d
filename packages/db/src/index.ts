export * from './client';
export * from './migrate';
export * from './pipeline';
export * from './queries/tenant-stats';
export * from './queries/webhook-logs';
export * from './rows';
export * from './schema/index';
export * from './tenant-scope';
