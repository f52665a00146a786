import { test as base, expect } from '@playwright/test';
import { readState } from './stack';

/** Playwright's test with the running stack's URL as baseURL (known only after global setup). */
export const test = base.extend({
  baseURL: async ({}, use) => {
    await use(readState().baseUrl);
  },
});

export { expect };
