export * from './format';
export * from './render-weekly-report';
export * from './weekly-report';
export * from './weekly-report-types';
export * from './wording';
