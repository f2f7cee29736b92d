import { createLogger } from '@mcb/core';
import { createDatabase } from '@mcb/db';
import { createQueueConnection } from '@mcb/queue';
import { testEnv } from '@mcb/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createConsoleApp } from '../src/app';
import { createTenant, insertLog } from './factories';

// An open Stripe dispute was invisible on the log page: the sale read "Payments: 1" and the dispute's
// own log "Payments: 0", though it changed the sale's status. The page says what `mcb log` says.

const { databaseUrl, redisUrl, redisPrefix } = testEnv();
const token = 'console-dispute-token-0123456789';
const admin = createDatabase({ url: databaseUrl, role: 'admin', max: 2 });
const app = createDatabase({ url: databaseUrl, role: 'app', max: 2 });
const queue = createQueueConnection({ kind: 'redis', url: redisUrl }, `${redisPrefix}-console-dispute`);
const consoleApp = createConsoleApp({
  admin,
  app,
  queue,
  log: createLogger({ name: 'console-dispute-test', level: 'silent' }),
  adminToken: token,
  signInMaxFailures: 10_000,
});
const bearer = { authorization: `Bearer ${token}` };

afterAll(async () => {
  await consoleApp.close();
  await queue.close();
  await Promise.all([admin.close(), app.close()]);
});

describe('console log page: payment statuses', () => {
  it('shows a disputed payment’s status on the sale, and the status change on the dispute’s log', async () => {
    const tenant = await createTenant(admin);
    const sale = await insertLog(admin, tenant.id, { payload: {}, status: 'processed' });
    const dispute = await insertLog(admin, tenant.id, { payload: {}, status: 'processed', eventType: 'charge.dispute.created' });
    await admin.sql`
      insert into payments (tenant_id, payment_event_id, source, payment_type, category, amount_cents, currency, status, paid_at,
                            webhook_log_id, stripe_payment_intent_id)
      values (${tenant.id}, 'cs_console_sale', 'stripe', 'buy_in_full', 'full_purchase', 49700, 'usd', 'disputed', now(), ${sale}, 'pi_c')`;
    await admin.sql`
      insert into payment_status_changes (tenant_id, payment_ref, webhook_log_id, status, occurred_at)
      values (${tenant.id}, 'pi:pi_c', ${dispute}, 'disputed', now())`;

    const salePage = await (await consoleApp.app.request(`/admin/logs/${sale}`, { headers: bearer })).text();
    expect(salePage).toContain('1 payment(s): full_purchase $497.00 disputed');
    const disputePage = await (await consoleApp.app.request(`/admin/logs/${dispute}`, { headers: bearer })).text();
    expect(disputePage).toContain('1 payment status change(s): pi:pi_c → disputed');

    const api = (await (await consoleApp.app.request(`/admin/api/logs/${dispute}`, { headers: bearer })).json()) as {
      log: { paymentStatusChanges: unknown[] };
    };
    expect(api.log.paymentStatusChanges).toEqual([expect.objectContaining({ payment_ref: 'pi:pi_c', status: 'disputed' })]);
  });
});
