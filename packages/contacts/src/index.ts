export * from './apply';
export * from './fields';
export * from './locks';
