export * from './filters';
export * from './logs';
export * from './prune';
export * from './queues';
export * from './reconcile';
export * from './replay';
export * from './stack';
export * from './tenants';
