export * from './browser';
export * from './capture';
export * from './context';
export * from './fake-resend';
export * from './own-services';
export * from './ports';
export * from './seed';
export * from './services';
