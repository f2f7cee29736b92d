import { formatWeekRange } from './format';

/**
 * Where the week shown sits relative to the moment the report is rendered: the week still running
 * (`current`, a preview), the last full week (`last`, what the scheduled email covers), or any other
 * week (`other`: an older week, or one that has not started).
 */
export type ReportWeekTense = 'current' | 'last' | 'other';

/** The phrases of the report that depend on which week it shows. */
export interface WeekWording {
  /** Opening sentence before the headline figures, e.g. `Here is how last week went`. */
  intro: string;
  /** The week itself inside a sentence: `this week so far`, `last week`, `the week of Oct 26 – Nov 1`. */
  week: string;
  /** The week before the one shown: `last week` when the week shown is the current one, else `the week before`. */
  previous: string;
  /** Short form of `previous` for a table header: `last wk` / `wk before`. */
  previousShort: string;
  /** Appended to the subject's cash figure: ` so far` for a week still running, else empty. */
  subjectSuffix: string;
}

/** Wording for a week (dates `YYYY-MM-DD`) in a given tense. Pure. */
export function weekWording(tense: ReportWeekTense, period: { start_date: string; end_date: string }): WeekWording {
  if (tense === 'current') {
    return {
      intro: 'Here is how this week is going so far',
      week: 'this week so far',
      previous: 'last week',
      previousShort: 'last wk',
      subjectSuffix: ' so far',
    };
  }
  if (tense === 'last') {
    return {
      intro: 'Here is how last week went',
      week: 'last week',
      previous: 'the week before',
      previousShort: 'wk before',
      subjectSuffix: '',
    };
  }
  const range = formatWeekRange(period.start_date, period.end_date);
  return {
    intro: `Here is how the week of ${range} went`,
    week: `the week of ${range}`,
    previous: 'the week before',
    previousShort: 'wk before',
    subjectSuffix: '',
  };
}

/** `Last week` → capitalised first letter, for the start of a sentence. */
export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
