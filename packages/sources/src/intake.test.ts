import { describe, expect, it } from 'vitest';
import { intakeEventType, intakeProblem } from './intake';
import { readFixture } from './test-fixtures';

describe('intakeEventType', () => {
  it('takes the body event type, else for ManyChat the URL ?event=', () => {
    expect(intakeEventType('manychat', readFixture('manychat', 'full-contact-data-flat'), 'link_clicked')).toBe('link_sent');
    expect(intakeEventType('manychat', readFixture('manychat', 'full-contact-data-flat-no-event'), 'link_clicked')).toBe('link_clicked');
    expect(intakeEventType('manychat', readFixture('manychat', 'full-contact-data-flat-no-event'), undefined)).toBeNull();
    expect(intakeEventType('manychat', {}, '   ')).toBeNull();
    expect(intakeEventType('perspective', { id: 'x' }, 'link_clicked')).toBeNull();
  });
});

describe('intakeProblem', () => {
  it('knows at intake that a ManyChat body without any subscriber can never be processed', () => {
    expect(intakeProblem('manychat', { event_type: 'link_sent' })).toMatch(/^ManyChat body has no subscriber id/);
    expect(intakeProblem('manychat', 'hello')).toBe('ManyChat body is not a JSON object');
    expect(intakeProblem('manychat', [])).toBe('ManyChat body is not a JSON object');
  });

  it('passes every accepted shape and every other source', () => {
    for (const name of ['full-contact-data-flat', 'full-contact-data-flat-no-event', 'link-sent', 'subscriber-id-only', 'unknown-event']) {
      expect(intakeProblem('manychat', readFixture('manychat', name)), name).toBeNull();
    }
    expect(intakeProblem('ghl', {})).toBeNull();
    expect(intakeProblem('stripe', 'x')).toBeNull();
  });
});
