export * from './capi-scan-marks';
export * from './capi-sends';
export * from './console-sessions';
export * from './contact-field-changes';
export * from './contact-identities';
export * from './contacts';
export * from './funnel-events';
export * from './meta-ad-creatives';
export * from './meta-ad-insights';
export * from './meta-ads';
export * from './orphan-link-backlog';
export * from './payment-status-changes';
export * from './payments';
export * from './report-runs';
export * from './stripe-first-invoices';
export * from './stripe-invoice-payments';
export * from './tenant-integrations';
export * from './tenants';
export * from './webhook-log-search';
export * from './webhook-logs';

/** Every table that carries `tenant_id` and is therefore under row-level security. */
export const tenantTableNames = [
  'tenant_integrations',
  'contacts',
  'contact_field_changes',
  'contact_identities',
  'funnel_events',
  'payments',
  'payment_status_changes',
  'stripe_first_invoices',
  'stripe_invoice_payments',
  'orphan_link_backlog',
  'webhook_logs',
  'webhook_log_search',
  'meta_ads',
  'meta_ad_creatives',
  'meta_ad_insights',
  'report_runs',
  'capi_sends',
  'capi_scan_marks',
] as const;
