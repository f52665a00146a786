import { test as base, expect } from '@playwright/test';
import { readState } from './stack';

/** Playwright's test with the running stack's URL as baseURL (known only after global setup). */
export const test = base.extend({
  // Playwright reads a fixture's dependencies from its destructuring pattern: none here.
  // eslint-disable-next-line no-empty-pattern
  baseURL: async ({}, use) => {
    await use(readState().baseUrl);
  },
});

export { expect };
