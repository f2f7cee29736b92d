import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDatabase } from '@mcb/db';
import { assertChromium, chromiumArgs, testEnv } from '@mcb/testing';
import { chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { createTenant } from '../test/factories';
import { seedScenario } from '../test/scenario';
import { buildWeeklyReport, loadReportTenant } from './send';
import { weekContaining } from './week';

// Git-ignored (`test-results/`): the rendered report, for a human to look at.
const outDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-results');

const { databaseUrl } = testEnv();
const admin = createDatabase({ url: databaseUrl, role: 'admin', max: 2 });
const app = createDatabase({ url: databaseUrl, role: 'app', max: 2 });
afterAll(() => Promise.all([admin.close(), app.close()]));

describe('weekly report in a real browser (Debian Chromium via playwright-core)', () => {
  it('renders the scenario week: no images or SVG, bars proportional to the counts; saves a screenshot', async () => {
    const executablePath = assertChromium();
    const { id } = await createTenant(admin, {
      name: 'Postpartum Care USA',
      ownerName: 'Eric',
      reportEmail: 'eric@example.com',
      config: { timezone: 'America/New_York' },
    });
    await seedScenario(admin, id);
    const tenant = await loadReportTenant(app, id);
    const report = await buildWeeklyReport(app, tenant, weekContaining('2026-10-26', tenant.timezone));
    await mkdir(outDir, { recursive: true });
    await writeFile(join(outDir, 'weekly-report.html'), report.html);
    await writeFile(join(outDir, 'weekly-report.txt'), report.text);

    const browser = await chromium.launch({ executablePath, args: chromiumArgs, headless: true });
    try {
      const page = await browser.newPage({ viewport: { width: 760, height: 900 } });
      // No network: the email must render from its own HTML alone.
      await page.route('**/*', (route) => route.abort());
      await page.setContent(report.html, { waitUntil: 'load' });
      expect(await page.locator('img, svg, picture, object, iframe').count()).toBe(0);
      const text = (await page.textContent('body')) ?? '';
      for (const s of [
        'Hi Eric,',
        '$4,975.00',
        '$9,200.00',
        '$521.78',
        '$173.93',
        '$260.89',
        '9.53×',
        'Spring Promo – Reel',
        'America/New_York',
      ]) {
        expect(text).toContain(s);
      }
      // Funnel bars: the coloured cell of each row, as wide as its count relative to the widest stage (3).
      const bars = await page.$$eval('td[style*="background-color:#4f46e5"], td[style*="background-color: rgb(79, 70, 229)"]', (cells) =>
        cells.map((c) => (c as unknown as { getBoundingClientRect(): { width: number } }).getBoundingClientRect().width),
      );
      const full = Math.max(...bars);
      // Stages with people: leads 3, dm 1, sent 1, clicked 1, form 1, booked 3, held 3, deposit 1, purchased 2.
      expect(bars.map((w) => Math.round((w / full) * 3))).toEqual([3, 1, 1, 1, 1, 3, 3, 1, 2]);
      const file = join(outDir, 'weekly-report.png');
      await page.screenshot({ path: file, fullPage: true });
      expect((await stat(file)).size).toBeGreaterThan(20_000);
    } finally {
      await browser.close();
    }
  });
});
