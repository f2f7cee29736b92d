export * from './browser';
export * from './context';
export * from './services';
