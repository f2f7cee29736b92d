import { describe, expect, it } from 'vitest';
import { parseCapiCredentials } from './config';

const tenant = { id: '00000000-0000-4000-8000-000000000001', slug: 'acme' };

describe('meta_capi credentials', () => {
  it('defaults: Lead on the first event, Purchase for purchases and plans', () => {
    const t = parseCapiCredentials(tenant, { dataset_id: 123, access_token: 'EAAx' });
    expect(t).toMatchObject({ datasetId: '123', accessToken: 'EAAx', testEventCode: null, lead: true });
    expect(t.events).toEqual({ purchase_completed: 'Purchase', payment_plan_created: 'Purchase' });
  });

  it('a tenant mapping adds events, renames, and null turns a default off', () => {
    const t = parseCapiCredentials(tenant, {
      dataset_id: '99',
      access_token: 'EAAx',
      test_event_code: 'TEST1',
      lead: false,
      events: { appointment_scheduled: 'Schedule', payment_plan_created: null, deposit_paid: 'DepositPaid' },
    });
    expect(t.lead).toBe(false);
    expect(t.testEventCode).toBe('TEST1');
    expect(t.events).toEqual({ purchase_completed: 'Purchase', appointment_scheduled: 'Schedule', deposit_paid: 'DepositPaid' });
  });

  it('refuses what would break sends, naming the field', () => {
    expect(() => parseCapiCredentials(tenant, { access_token: 'x' })).toThrow(/acme: dataset_id/);
    expect(() => parseCapiCredentials(tenant, { dataset_id: 'act_1', access_token: 'x' })).toThrow(/dataset_id/);
    expect(() => parseCapiCredentials(tenant, { dataset_id: '1' })).toThrow(/access_token/);
    expect(() => parseCapiCredentials(tenant, { dataset_id: '1', access_token: 'x', events: { link_clicked: 'Lead' } })).toThrow(
      /first funnel event/,
    );
    expect(() => parseCapiCredentials(tenant, { dataset_id: '1', access_token: 'x', events: { nope: 'Schedule' } })).toThrow(/events/);
    expect(() => parseCapiCredentials(tenant, { dataset_id: '1', access_token: 'x', events: { link_clicked: 'bad{name}' } })).toThrow(
      /events\.link_clicked/,
    );
  });

  it('never puts the token in an error message', () => {
    try {
      parseCapiCredentials(tenant, { dataset_id: 'bad', access_token: 'EAAsecret' });
    } catch (err) {
      expect((err as Error).message).not.toContain('EAAsecret');
      return;
    }
    throw new Error('expected a throw');
  });
});
