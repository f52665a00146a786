import { test as base, expect } from '@playwright/test';
import { readState } from './stack';

/**
 * Playwright's test with the running stack's URL as baseURL (known only after global setup), whose pages
 * fail the test on any Content-Security-Policy violation: the API's CSP (api/security.ts) must let every
 * journey's scripts, styles, images and calls through.
 */
export const test = base.extend({
  // Playwright reads a fixture's dependencies from its destructuring pattern: none here.
  // eslint-disable-next-line no-empty-pattern
  baseURL: async ({}, use) => {
    await use(readState().baseUrl);
  },
  page: async ({ page }, use) => {
    const violations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    await use(page);
    expect(violations, 'CSP violations').toEqual([]);
  },
});

export { expect };
