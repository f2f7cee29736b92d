import { testSeed } from '@mcb/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ContactState, maxTagsPerContact, planFieldUpdates, type Stamp } from './fields';

fc.configureGlobal({ seed: testSeed('contacts field-rule properties') });

const empty = (): ContactState => ({ values: {}, tags: {}, meta: {} });
const s = (at: string, logId: number): Stamp => ({ at, logId: String(logId) });

describe('planFieldUpdates (SPEC §6.4, §6.7)', () => {
  it(`holds at most ${maxTagsPerContact} tag keys per contact: new keys past it are dropped, known ones still update`, () => {
    const many = (from: number, n: number, value: string) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${from + i}`, value]));
    const first = planFieldUpdates(empty(), [{ fields: { tags: many(0, 400, 'a') }, stamp: s('2026-01-01T00:00:00Z', 1) }]);
    const state = { values: {}, tags: first.tags ?? {}, meta: first.meta };
    const next = planFieldUpdates(state, [
      { fields: { tags: { ...many(400, 150, 'b'), k0: 'updated' } }, stamp: s('2026-01-02T00:00:00Z', 2) },
    ]);
    const tags = next.tags ?? {};
    expect(Object.keys(tags)).toHaveLength(maxTagsPerContact);
    expect(tags.k0).toBe('updated');
    expect(tags.k499).toBe('b');
    expect(tags.k500).toBeUndefined();
    // A dropped key leaves no stamp and no lineage row.
    expect(next.meta['tags.k500']).toBeUndefined();
    expect(next.changes.filter((c) => c.field.startsWith('tags.'))).toHaveLength(101);
  });

  it('never lets an empty value overwrite a known one', () => {
    const first = planFieldUpdates(empty(), [{ fields: { firstName: 'Ann' }, stamp: s('2026-01-01T00:00:00Z', 1) }]);
    const state = { values: first.set, tags: {}, meta: first.meta };
    const next = planFieldUpdates(state, [{ fields: { firstName: '  ', lastName: undefined }, stamp: s('2026-01-02T00:00:00Z', 2) }]);
    expect(next.set).toEqual({});
    expect(next.changes).toEqual([]);
  });

  it('keeps the first touch for source and ad_id, the newest value for the rest, ties by log id', () => {
    const plan = planFieldUpdates(empty(), [
      { fields: { source: 'later', adId: 'ad2', firstName: 'New' }, stamp: s('2026-01-02T00:00:00Z', 5) },
      { fields: { source: 'first', adId: 'ad1', firstName: 'Old' }, stamp: s('2026-01-01T00:00:00Z', 9) },
      { fields: { firstName: 'Tie' }, stamp: s('2026-01-02T00:00:00Z', 6) },
    ]);
    expect(plan.set).toMatchObject({ source: 'first', ad_id: 'ad1', first_name: 'Tie' });
  });

  it('keeps the earliest provider ids (first touch), whatever order they come in', () => {
    for (const order of [
      [0, 1],
      [1, 0],
    ]) {
      const items = [
        { fields: { mcId: 'a', ghlId: 'g1' }, stamp: s('2026-01-01T00:00:00Z', 7) },
        { fields: { mcId: 'b', ghlId: 'g2' }, stamp: s('2026-01-02T00:00:00Z', 2) },
      ];
      let state = empty();
      for (const i of order) {
        const plan = planFieldUpdates(state, [items[i]!]);
        state = { values: { ...state.values, ...plan.set }, tags: plan.tags ?? state.tags, meta: plan.meta };
      }
      expect(state.values, `order ${order.join(',')}`).toMatchObject({ mc_id: 'a', ghl_id: 'g1' });
    }
  });

  it('gives the same result for any order of the same stamped values (property)', () => {
    const value = fc.constantFrom('', 'x', 'y', 'z');
    const input = fc.array(
      fc.record({
        fields: fc.record({ firstName: value, emailPrimary: value, source: value, adId: value }),
        stamp: fc.record({ day: fc.integer({ min: 1, max: 5 }), logId: fc.integer({ min: 1, max: 1000 }) }),
      }),
      { minLength: 1, maxLength: 8 },
    );
    fc.assert(
      fc.property(input, fc.integer(), (events, seed) => {
        const items = events.map((e, i) => ({ fields: e.fields, stamp: s(`2026-01-0${e.stamp.day}T00:00:00Z`, e.stamp.logId * 100 + i) }));
        const shuffled = [...items].sort(
          (a, b) => ((Number(a.stamp.logId) * 7919 + seed) % 97) - ((Number(b.stamp.logId) * 7919 + seed) % 97),
        );
        // One at a time, as the applier sees them.
        const run = (list: typeof items) => {
          let state = empty();
          for (const item of list) {
            const plan = planFieldUpdates(state, [item]);
            state = { values: { ...state.values, ...plan.set }, tags: plan.tags ?? state.tags, meta: plan.meta };
          }
          return state.values;
        };
        expect(run(shuffled)).toEqual(run(items));
      }),
      { numRuns: 300 },
    );
  });
});
