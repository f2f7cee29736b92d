import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type ServerType, serve } from '@hono/node-server';
import { assertChromium, chromiumArgs } from '@mcb/testing';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type TestSystem } from './system';

// Screenshots land in test-results/ (git-ignored) for a person to look at.
const shots = fileURLToPath(new URL('../../../test-results/console/', import.meta.url));
const token = 'browser-test-token-0123456789';
// This checkout's absolute path: it must never reach an operator's screen.
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

let sys: TestSystem;
let server: ServerType;
let browser: Browser;
let base: string;

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  sys = await startSystem('browser', token);
  server = serve({ fetch: sys.consoleApp.app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', () => resolve())));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath: assertChromium(), args: chromiumArgs, headless: true });
});

afterAll(async () => {
  await browser?.close();
  await new Promise((r) => server?.close(r));
  await sys?.close();
});

async function shot(page: Page, name: string) {
  await page.screenshot({ path: `${shots}${name}.png`, fullPage: false });
}

describe('operator console in headless Chromium', () => {
  it('signs in, finds a tenant queue by name in Bull Board, opens a failed job (no local paths), retries it, replays a log from the log browser', async () => {
    // Two ManyChat deliveries fail: the tenant's API key is wrong (ManyChat answers 401, not retried).
    const tenant = await sys.makeTenant('mc-wrong-key');
    const retried = await sys.deliver(tenant.id, 'manychat', { subscriber_id: '8880001', event_type: 'contact_created' });
    const replayed = await sys.deliver(tenant.id, 'manychat', { subscriber_id: '8880002', event_type: 'link_clicked' });
    for (const id of [retried, replayed]) await sys.waitFor(id, ['failed']);
    // Each row is final a moment before BullMQ moves its job: the failed list is read from BullMQ.
    for (const id of [retried, replayed]) expect(await sys.waitForJob(tenant.id, id, 'failed')).toBe('failed');
    await sys.fixManyChatKey(tenant.slug);
    await sys.consoleApp.refreshQueues();

    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });

    // 1. Bull Board without a session → the login form; a wrong token is refused; the right one gets in.
    await page.goto(`${base}/admin/queues`);
    await page.waitForSelector('input[name=token]');
    expect(page.url()).toContain('/login?next=%2Fadmin%2Fqueues');
    await page.fill('input[name=token]', 'not-the-token');
    await page.click('button[type=submit]');
    await page.waitForSelector('text=Wrong token.');
    await shot(page, '01-login-refused');
    await page.fill('input[name=token]', token);
    await page.click('button[type=submit]');
    await page.waitForURL(`${base}/admin/queues`);
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === 'mcb_console')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });

    // 2. The overview groups the tenant's queue under "<slug> · <name>"; the fixed queues stand alone.
    const boardName = `${tenant.slug} · Tenant ${tenant.slug}:webhooks`;
    await page.locator(`text=${tenant.slug} · Tenant ${tenant.slug}`).first().waitFor();
    for (const name of ['meta-sync', 'reports', 'schedules']) await page.locator(`text=${name}`).first().waitFor();
    await page.locator(`text=${tenant.slug} (Tenant ${tenant.slug}) · webhooks`).first().waitFor(); // the overview card
    await shot(page, '02-bull-board-queues');

    // 3. Find the tenant's queue by its name: the sidebar search takes the tenant's name, the group opens.
    await page.fill('#search-queues', `Tenant ${tenant.slug}`);
    const group = page.locator('#bull-board-sidebar button', { hasText: `${tenant.slug} · Tenant ${tenant.slug}` });
    await group.waitFor();
    expect(await page.locator('#bull-board-sidebar', { hasText: 'meta-sync' }).count()).toBe(0);
    const leaf = page.locator('#bull-board-sidebar a', { hasText: 'webhooks' });
    if (!(await leaf.count())) await group.click();
    await shot(page, '03-bull-board-search-tenant');
    await leaf.first().click();
    await page.waitForURL((url) => decodeURIComponent(url.pathname).endsWith(`/admin/queues/queue/${boardName}`));
    await page.locator(`h1:has-text("${tenant.slug} (Tenant ${tenant.slug}) · webhooks")`).waitFor();

    // 4. Its failed tab: the job (data: only the log id), its error, a stack trace without local paths.
    await page.goto(`${page.url().split('?')[0]}?status=failed`);
    const jobCard = page.locator('[class*="card"]', { has: page.locator(`text=log-${retried}`) }).last();
    await jobCard.waitFor();
    await page.locator('text=ManyChat getInfo failed: HTTP 401').first().waitFor();
    const stackTab = jobCard.getByRole('tab', { name: /stack|error/i });
    if (await stackTab.count()) await stackTab.first().click();
    await shot(page, '04-bull-board-failed-job');
    const shown = await page.locator('body').innerText();
    expect(shown).not.toContain(repoRoot);
    // The same through Bull Board's own API (what every job page is drawn from): paths cut to the repository.
    const api = await page.request.get(`${base}/admin/queues/api/queues?activeQueue=${encodeURIComponent(boardName)}&status=failed`);
    const apiText = await api.text();
    expect(api.status()).toBe(200);
    expect(apiText).toContain('(apps/worker/src/');
    expect(apiText).not.toContain(repoRoot);
    expect(apiText).not.toMatch(/"\/[^"]*node_modules/);

    // 5. Retry it from Bull Board (the cause is fixed); it completes.
    await jobCard.locator('button:has(svg.lucide-refresh-cw)').first().click();
    const confirm = page.getByRole('button', { name: /^(retry|confirm|yes)$/i });
    if (await confirm.count()) await confirm.first().click();
    expect(await sys.waitFor(retried, ['processed'], 2)).toMatchObject({ status: 'processed' });
    expect(await sys.waitForJob(tenant.id, retried, 'completed')).toBe('completed');
    await page.goto(`${page.url().split('?')[0]}?status=completed`);
    await page.locator(`text=log-${retried}`).first().waitFor();
    await shot(page, '05-bull-board-retried-completed');

    // 6. Log browser: search by the subscriber id, open the still-failed log, replay it.
    await page.goto(`${base}/admin/logs`);
    await page.selectOption('select[name=tenant]', tenant.slug);
    await page.fill('input[name=q]', '8880002');
    await page.click('form.search button[type=submit]');
    await page.waitForSelector(`#results a[href="/admin/logs/${replayed}"]`);
    expect(await page.locator('#results tbody tr').count()).toBe(1);
    await shot(page, '06-log-browser-search');
    await page.click(`#results a[href="/admin/logs/${replayed}"]`);
    await page.waitForSelector('text=HTTP 401');
    expect(await page.locator('pre').allTextContents()).not.toContain('should-never-show');
    await shot(page, '07-log-detail-failed');
    await page.click('#replay');
    await page.waitForSelector('.flash');
    expect(await sys.waitFor(replayed, ['processed'], 2)).toMatchObject({ status: 'processed' });
    expect(await sys.waitForJob(tenant.id, replayed, 'completed')).toBe('completed');
    await page.reload();
    await page.waitForSelector('h1 .st-processed');
    await page.locator('text=1 funnel event(s)').first().waitFor();
    await shot(page, '08-log-detail-replayed-processed');

    // 7. Back in Bull Board: the replay re-ran the same job, so the queue counts one job per log (none failed).
    await page.goto(`${base}/admin/queues/queue/${encodeURIComponent(boardName)}?status=completed`);
    await page.locator(`text=log-${replayed}`).first().waitFor();
    const counts = await page.request.get(`${base}/admin/api/queues`);
    const tenantQueue = (
      (await counts.json()) as { queues: Array<{ tenantSlug: string | null; counts: Record<string, number> }> }
    ).queues.find((q) => q.tenantSlug === tenant.slug);
    expect(tenantQueue?.counts).toMatchObject({ completed: 2, failed: 0 });
    await shot(page, '09-bull-board-after-replay');
    await page.close();
  });
});
