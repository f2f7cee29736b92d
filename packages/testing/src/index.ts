export * from './context';
export * from './services';
export * from './browser';
