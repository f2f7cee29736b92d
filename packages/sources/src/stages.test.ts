import { describe, expect, it } from 'vitest';
import { funnelEventTypes, stages } from './domain';
import { laterStage, stageForEvent, stageRank } from './stages';

describe('stages', () => {
  it('every funnel event type has an entry; the ones that move a person map to a known stage', () => {
    for (const type of funnelEventTypes) {
      const stage = stageForEvent(type);
      if (stage !== null) expect(stages).toContain(stage);
    }
    expect(stageForEvent('appointment_scheduled')).toBe('meeting_booked');
    expect(stageForEvent('payment_plan_created')).toBe('purchased');
    expect(stageForEvent('payment_refunded')).toBeNull();
  });

  it('ranks follow SPEC §4 order and the later stage always wins', () => {
    expect(stages.map(stageRank)).toEqual(stages.map((_, i) => i));
    expect(stageRank(null)).toBe(-1);
    expect(stageRank('nope')).toBe(-1);
    expect(laterStage('meeting_held', 'dm_qualified')).toBe('meeting_held');
    expect(laterStage('new_lead', 'purchased')).toBe('purchased');
    expect(laterStage(null, 'form_submitted')).toBe('form_submitted');
    expect(laterStage(undefined, null)).toBeNull();
  });
});
