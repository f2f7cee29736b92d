import { describe, expect, it } from 'vitest';
import { sampleFigures } from '../test/sample-figures';
import { buildWeeklyReportSubject, renderWeeklyReport } from './render-weekly-report';

describe('weekly report email', () => {
  it('has the subject `<Tenant> weekly: <Mon d – Sun d> · $<cash> collected`', () => {
    expect(buildWeeklyReportSubject(sampleFigures(), 'last')).toBe('Columnline AI weekly: Dec 28 – Jan 3 · $1,234,567.89 collected');
    // A name stored before names were checked: still one line (a line break in a subject is a header of its own).
    const figures = sampleFigures();
    figures.tenant = { name: 'Acme\r\nBcc: x@example.com' };
    expect(buildWeeklyReportSubject(figures, 'last')).toBe('Acme Bcc: x@example.com weekly: Dec 28 – Jan 3 · $1,234,567.89 collected');
  });

  it('renders HTML with inline styles and tables only (no images, SVG, scripts or external CSS)', async () => {
    const { html } = await renderWeeklyReport({ figures: sampleFigures(), ownerName: 'Connor', tense: 'last' });
    expect(html).toMatch(/^<!DOCTYPE html/);
    expect(html).not.toMatch(/<img|<svg|<script|<link|<style|url\(/i);
    expect(html).toContain('Hi Connor,');
    expect(html).toContain('$1,234,567.89');
    // The bar of a stage with 600 of 1,200 people is half the track.
    expect(html).toContain('width="50%"');
    expect(html).toContain('Europe/Berlin');
  });

  it('greets the tenant when there is no owner name', async () => {
    const { html, text } = await renderWeeklyReport({ figures: sampleFigures(), ownerName: '  ', tense: 'last' });
    expect(html).toContain('Hi Columnline AI,');
    expect(text).toContain('Hi Columnline AI,');
  });

  it('writes a plain-text part with the same numbers', async () => {
    const { text } = await renderWeeklyReport({ figures: sampleFigures(), ownerName: 'Connor', tense: 'last' });
    expect(text).toContain('Hi Connor,');
    expect(text).toContain('Cash collected              $1,234,567.89  (— vs the week before)');
    expect(text).toContain('New leads                   1,200  (+50%)');
    expect(text).toMatch(/New leads\s+#{20}\s+1,200/);
    expect(text).toMatch(/DM qualified\s+#{10}\.{10}\s+600/);
    expect(text).toContain('Cost per lead               —');
    expect(text).toContain('No meetings held or purchases from a known ad last week.');
    expect(text).toContain('Period: Monday 2026-12-28 00:00 to Sunday 2027-01-03 24:00, Europe/Berlin (168 hours).');
    expect(text).toContain('The week before (Dec 28 – Jan 3): $1,234,567.89 collected, 800 new leads, 2 purchases.');
  });

  // Known, left (stop 26): without Meta the figures say spend 0 and cost per lead 0 (SPEC §7: null only
  // when there are no leads, and the email shows the JSON's numbers); the email says why they read $0.00.
  // Operator walk, stop 37: the line read "(full purchases + plan values $2,700.00)", one addend of two.
  it('names both parts of projected revenue in the plain-text part, as the HTML does', async () => {
    const figures = sampleFigures();
    figures.revenue = {
      ...figures.revenue,
      projected_cents: 510_000,
      by_category: { deposit: 0, full_purchase: 240_000, payment_plan: 200_000, downpayment: 70_000, recurring: 0, refund: 0 },
    };
    const { html, text } = await renderWeeklyReport({ figures, ownerName: 'Connor', tense: 'last' });
    expect(text).toContain('Projected revenue           $5,100.00  (full purchases $2,400.00 + plan values $2,700.00)');
    expect(html).toContain('$2,400.00 + $2,700.00');
  });

  it('says why costs read $0.00 when neither week had ad spend, and says nothing when one had', async () => {
    const f = sampleFigures();
    const noSpend = { spend_cents: 0, cost_per_lead_cents: 0, cost_per_purchase_cents: 0, roas: null, top: [] };
    const figures = { ...f, ads: noSpend, previous: { ...f.previous, ads: noSpend } };
    const { html, text } = await renderWeeklyReport({ figures, ownerName: 'Connor', tense: 'last' });
    // The same numbers as --format json.
    expect(text).toContain('Cost per lead               $0.00');
    expect(html).toMatch(/Cost per lead<\/p><p[^>]*>\$0\.00<\/p>/);
    const why =
      'No ad spend recorded for either week (Meta Ads not connected, or no ads running), so costs per lead and per purchase read $0.00';
    expect(text).toContain(why);
    expect(html).toContain(why);

    // With spend in either week, the figures speak for themselves.
    const spent = { spend_cents: 120000, cost_per_lead_cents: 100, cost_per_purchase_cents: 120000, roas: 1028.81, top: [] };
    const withSpend = await renderWeeklyReport({ figures: { ...figures, ads: spent }, ownerName: 'Connor', tense: 'last' });
    expect(withSpend.text).toContain('Cost per lead               $1.00');
    expect(withSpend.text).not.toContain('No ad spend recorded');
    expect(withSpend.html).not.toContain('No ad spend recorded');
  });

  // A new operator's first day: cash collected counted disputed sales with no hint (the figure is SPEC §7's).
  it('adds one line under cash collected for the disputed part of it, and nothing at all when none is', async () => {
    const plain = await renderWeeklyReport({ figures: sampleFigures(), ownerName: 'Connor', tense: 'last' });
    const zero = sampleFigures();
    zero.revenue.disputed_cents = 0;
    expect(await renderWeeklyReport({ figures: zero, ownerName: 'Connor', tense: 'last' })).toEqual(plain);
    expect(plain.text).not.toContain('disputed');
    expect(plain.html).not.toContain('disputed');

    const disputed = sampleFigures();
    disputed.revenue.disputed_cents = 49700;
    const { html, text, subject } = await renderWeeklyReport({ figures: disputed, ownerName: 'Connor', tense: 'last' });
    expect(subject).toBe(plain.subject);
    expect(text).toContain(`Cash collected              $1,234,567.89\n${' '.repeat(28)}includes $497.00 in disputed payments\n`);
    expect(text.split('\n').filter((l) => l.includes('disputed'))).toHaveLength(1);
    expect(html.match(/includes \$497\.00 in disputed payments/g)).toHaveLength(1);
  });

  it('without the ad costs (no spend, no leads) the note says they have no value, as the cells show', async () => {
    const f = sampleFigures();
    const none = { spend_cents: 0, cost_per_lead_cents: null, cost_per_purchase_cents: null, roas: null, top: [] };
    const { html, text } = await renderWeeklyReport({
      figures: { ...f, ads: none, previous: { ...f.previous, ads: none } },
      ownerName: 'C',
      tense: 'last',
    });
    expect(text).toContain('Cost per lead               —');
    expect(text).not.toContain('read $0.00');
    expect(html).not.toContain('read $0.00');
    expect(text).toContain('costs per lead and per purchase and ROAS have no value.');
  });

  // issue 16: the wording follows the week shown, and counts of one are singular.
  it('says "last week" for the last full week and "this week so far" for a week still running', async () => {
    const last = await renderWeeklyReport({ figures: sampleFigures(), ownerName: 'Connor', tense: 'last' });
    expect(last.text).toContain('Here is how last week went.');
    expect(last.html).toContain('Here is how last week went: $1,234,567.89 collected');
    expect(last.html).toContain('vs the week before');
    expect(last.subject).toBe('Columnline AI weekly: Dec 28 – Jan 3 · $1,234,567.89 collected');

    const current = await renderWeeklyReport({ figures: sampleFigures(), ownerName: 'Connor', tense: 'current' });
    expect(current.text).toContain('Here is how this week is going so far.');
    expect(current.html).toContain('Here is how this week is going so far: $1,234,567.89 collected');
    expect(current.html).not.toContain('last week went');
    expect(current.text).not.toContain('last week went');
    expect(current.text).toContain('No meetings held or purchases from a known ad this week so far.');
    expect(current.text).toContain('Last week (Dec 28 – Jan 3): $1,234,567.89 collected');
    expect(current.subject).toBe('Columnline AI weekly: Dec 28 – Jan 3 · $1,234,567.89 collected so far');

    const older = await renderWeeklyReport({ figures: sampleFigures(), ownerName: 'Connor', tense: 'other' });
    expect(older.text).toContain('Here is how the week of Dec 28 – Jan 3 went.');
    expect(older.html).not.toMatch(/last week|this week/);
  });

  it('writes "1 purchase" and "1 new lead" (singular) in the preheader and sentences', async () => {
    const one = sampleFigures();
    one.purchases = 1;
    one.leads = 1;
    const { html, text } = await renderWeeklyReport({ figures: one, ownerName: 'Connor', tense: 'last' });
    // The preheader is the hidden first text of the body.
    const preheader = /<div[^>]*display:none[^>]*>([^<]*)/.exec(html)?.[1] ?? '';
    expect(preheader).toContain('$1,234,567.89 collected, 1 new lead, 1 purchase');
    expect(html).not.toMatch(/\b1 purchases\b|\b1 new leads\b/);
    expect(text).not.toMatch(/\b1 purchases\b|\b1 new leads\b/);
    expect(html).toContain('1 purchase and 1 new lead.');
  });

  it("prints a sender's ad id, ad name and lead sources as one line each: no forged lines, no terminal or bidi controls", async () => {
    // A form's ad_id / utm_content, or a ManyChat AD_ID field, is whatever the sender wrote.
    const forged = '120210000001\n\nREVENUE (corrected)\nCash collected              $0.00\r\nPay at https://evil.example\u001b[2J\u202e';
    const f = sampleFigures();
    f.ads.top = [{ ad_id: forged, name: `Spring\u2028promo\u0007`, meetings_held: 3, purchases: 1, spend_cents: 100 }];
    f.leads_by_source = { 'ig\nREVENUE': 5, ...Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`src${i}`, 1])) };
    const { text, html } = await renderWeeklyReport({ figures: f, ownerName: 'Connor', tense: 'last' });
    const lines = text.split('\n');
    expect(lines).not.toContain('REVENUE (corrected)');
    expect(lines.filter((l) => l.includes('$0.00') && l.startsWith('Cash collected'))).toEqual([]);
    expect(lines.find((l) => l.startsWith('1. '))).toMatch(/^1\. Spring promo \(120210000001 REVENUE \(corrected\) Cash c…\): 3 held/);
    expect(text).toContain('New leads by source: ig REVENUE 5, src0 1,');
    expect(text).toContain('23 others 23');
    for (const out of [text, html]) for (const ch of ['\u0007', '\u001b', '\u2028', '\u202e', '\r']) expect(out).not.toContain(ch);
  });

  // The subject and every amount were US dollars whatever the tenant was paid in (¥5,000 read "$50.00").
  it("writes every amount in the report's currency: subject, HTML and text", async () => {
    const yen = sampleFigures();
    yen.currency = 'jpy';
    yen.revenue = {
      cash_collected_cents: 5000,
      projected_cents: 5000,
      by_category: { deposit: 0, full_purchase: 5000, payment_plan: 0, downpayment: 0, recurring: 0, refund: 0 },
      by_source: { stripe: { cash_collected_cents: 5000, projected_cents: 5000 } },
    };
    yen.ads = { spend_cents: 1200, cost_per_lead_cents: 1, cost_per_purchase_cents: 1200, roas: 4.17, top: [] };
    expect(buildWeeklyReportSubject(yen, 'last')).toBe('Columnline AI weekly: Dec 28 – Jan 3 · ¥5,000 collected');
    const { html, text } = await renderWeeklyReport({ figures: yen, ownerName: 'Connor', tense: 'last' });
    expect(html).toContain('Here is how last week went: ¥5,000 collected');
    expect(text).toContain('Cash collected              ¥5,000  (— vs the week before)');
    expect(text).toContain('Ad spend                    ¥1,200');
    expect(text).toContain('Cost per lead               ¥1');
    expect(text).toContain('The week before (Dec 28 – Jan 3): ¥123,456,789 collected');
    // No dollar amount anywhere (React's markers `<!--$-->` aside).
    for (const out of [html, text]) {
      expect(out).not.toMatch(/\$\d/);
      expect(out).not.toContain('¥50.00');
    }

    const pounds = { ...sampleFigures(), currency: 'gbp' };
    expect(buildWeeklyReportSubject(pounds, 'current')).toBe('Columnline AI weekly: Dec 28 – Jan 3 · £1,234,567.89 collected so far');
    const gbp = await renderWeeklyReport({ figures: pounds, ownerName: 'Connor', tense: 'last' });
    expect(gbp.text).toContain('Cash collected              £1,234,567.89');
    // No spend and no cost to show (the cells read —): the note says so, no "$0.00" (format.test.ts has it in pounds).
    expect(gbp.text).toContain('costs per lead and per purchase and ROAS have no value');
    expect(gbp.html).toContain('£1,234,567.89');
    expect(`${gbp.html}${gbp.text}`).not.toMatch(/\$\d/);
  });

  it('says what was paid in other currencies, and leaves ad spend in another currency out of costs and ROAS', async () => {
    const f = { ...sampleFigures(), currency: 'gbp' };
    f.revenue = { ...f.revenue, other_currencies: { usd: { cash_collected_cents: 1200, payments: 1 } } };
    f.ads = {
      spend_cents: 0,
      cost_per_lead_cents: null,
      cost_per_purchase_cents: null,
      roas: null,
      top: [],
      other_currencies: { jpy: { spend_cents: 500000 } },
    };
    const { html, text } = await renderWeeklyReport({ figures: f, ownerName: 'Connor', tense: 'last' });
    const also = 'Also collected, not in these totals: $12.00 (1 payment).';
    const left = "Ad spend in another currency than this report's (GBP) is left out of spend, costs and ROAS: ¥500,000 last week.";
    expect(text).toContain(also);
    expect(text).toContain(left);
    expect(html).toContain(also);
    expect(html).toContain(left.replace("'", '&#x27;'));
    expect(text).not.toContain('No ad spend recorded');
    expect(text).toContain('Cost per lead               —');
  });
});
