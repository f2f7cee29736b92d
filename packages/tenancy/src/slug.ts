import { McbError } from '@mcb/core';

/** Tenant slugs (SPEC §2): the URL segment of every webhook, lowercase `[a-z0-9-]{2,40}`. */
export const slugPattern = /^[a-z0-9-]{2,40}$/;

export function isValidSlug(slug: string): boolean {
  return slugPattern.test(slug);
}

/** Throws a `bad_request` error naming the rule unless `slug` is a valid tenant slug. */
export function assertValidSlug(slug: string): void {
  if (!isValidSlug(slug)) throw new McbError('bad_request', `Invalid slug "${slug}": use 2-40 lowercase letters, digits or dashes`);
}
