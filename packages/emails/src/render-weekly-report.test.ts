import { describe, expect, it } from 'vitest';
import { sampleFigures } from '../test/sample-figures';
import { buildWeeklyReportSubject, renderWeeklyReport } from './render-weekly-report';

describe('weekly report email', () => {
  it('has the subject `<Tenant> weekly: <Mon d – Sun d> · $<cash> collected`', () => {
    expect(buildWeeklyReportSubject(sampleFigures())).toBe('Columnline AI weekly: Dec 28 – Jan 3 · $1,234,567.89 collected');
  });

  it('renders HTML with inline styles and tables only (no images, SVG, scripts or external CSS)', async () => {
    const { html } = await renderWeeklyReport({ figures: sampleFigures(), ownerName: 'Connor' });
    expect(html).toMatch(/^<!DOCTYPE html/);
    expect(html).not.toMatch(/<img|<svg|<script|<link|<style|url\(/i);
    expect(html).toContain('Hi Connor,');
    expect(html).toContain('$1,234,567.89');
    // The bar of a stage with 600 of 1,200 people is half the track.
    expect(html).toContain('width="50%"');
    expect(html).toContain('Europe/Berlin');
  });

  it('greets the tenant when there is no owner name', async () => {
    const { html, text } = await renderWeeklyReport({ figures: sampleFigures(), ownerName: '  ' });
    expect(html).toContain('Hi Columnline AI,');
    expect(text).toContain('Hi Columnline AI,');
  });

  it('writes a plain-text part with the same numbers', async () => {
    const { text } = await renderWeeklyReport({ figures: sampleFigures(), ownerName: 'Connor' });
    expect(text).toContain('Hi Connor,');
    expect(text).toContain('Cash collected              $1,234,567.89  (— vs last week)');
    expect(text).toContain('New leads                   1,200  (+50%)');
    expect(text).toMatch(/New leads\s+#{20}\s+1,200/);
    expect(text).toMatch(/DM qualified\s+#{10}\.{10}\s+600/);
    expect(text).toContain('Cost per lead               —');
    expect(text).toContain('No meetings held or purchases from a known ad this week.');
    expect(text).toContain('Period: Monday 2026-12-28 00:00 to Sunday 2027-01-03 24:00, Europe/Berlin (168 hours).');
    expect(text).toContain('Last week: $1,234,567.89 collected, 800 new leads, 2 purchases.');
  });
});
