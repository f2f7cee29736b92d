/** Digits of the smallest integer a double cannot hold exactly (2^53 + 1 = 9007199254740993). */
const unsafeIntegerDigits = 16;

/**
 * Where a bare integer of 16+ digits can stand in JSON: the start of the text, or after `:`, `,` or `[`
 * (and whitespace, a minus). Also matches such text inside a string; the scan then finds nothing to quote.
 * Linear: an attempt starts only at those characters and stops at the first non-digit.
 */
const bareLongInteger = /(?:^|[:,[])\s*-?\d{16}/;

/**
 * `JSON.parse`, except that an integer past 2^53 (`Number.isSafeInteger` false) is read as the string
 * of its exact digits instead of a rounded number. Providers and relays send ids as bare numbers
 * (a ManyChat `{{user_id}}` left unquoted: Messenger ids have 16–17 digits); rounded, two people's ids
 * become one, and a second event is taken for a duplicate of the first. Every reader of ids takes a
 * string as well as a number, and nothing that is counted or summed is that large.
 *
 * Validity is decided by `JSON.parse` on the text as sent (it throws as usual); only a text that may
 * hold such a value (`bareLongInteger`: ids of 16+ digits inside strings, as Meta ad ids, do not count) is
 * scanned, and read a second time only if an integer was quoted.
 */
export function parseJsonExact(text: string): unknown {
  const value: unknown = JSON.parse(text);
  if (!bareLongInteger.test(text)) return value;
  const quoted = quoteUnsafeIntegers(text);
  return quoted === text ? value : JSON.parse(quoted);
}

/**
 * Visits each number token of JSON `text` that stands outside a string — a run of digits, `.`, `e`/`E`,
 * `+` and `-` starting at a digit or `-` — as `visit(start, end)`; stops, and returns true, as soon as
 * `visit` returns true. One linear pass that skips string contents (escapes included). The one scanner
 * of number tokens: `parseJsonExact` quotes unsafe integers with it, the receiver's `hasOversizedNumber`
 * finds numbers Postgres would refuse.
 */
export function someJsonNumber(text: string, visit: (start: number, end: number) => boolean): boolean {
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 45 || (c >= 48 && c <= 57)) {
      const start = i;
      for (; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (!((d >= 48 && d <= 57) || d === 46 || d === 101 || d === 69 || d === 43 || d === 45)) break;
      }
      if (visit(start, i)) return true;
      i--;
    }
  }
  return false;
}

/**
 * `text` (valid JSON) with every integer literal outside strings that is not a safe integer put in
 * quotes. In valid JSON a number outside a string is always a value, never a key, so the result is
 * valid JSON of the same shape.
 */
function quoteUnsafeIntegers(text: string): string {
  const parts: string[] = [];
  let copied = 0;
  someJsonNumber(text, (start, end) => {
    const token = text.slice(start, end);
    const digits = token.length - (token.startsWith('-') ? 1 : 0);
    if (/^-?\d+$/.test(token) && digits >= unsafeIntegerDigits && !Number.isSafeInteger(Number(token))) {
      parts.push(text.slice(copied, start), `"${token}"`);
      copied = end;
    }
    return false;
  });
  if (copied === 0) return text;
  parts.push(text.slice(copied));
  return parts.join('');
}
