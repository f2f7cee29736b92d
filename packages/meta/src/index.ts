export * from './client';
export * from './errors';
export * from './parse';
export * from './store';
export * from './sync';
export * from './tenant-sync';
export * from './usage';
export * from './window';
