import fs from 'node:fs';

export const STATE_ENV = 'CRM_E2E_STATE';

export interface StackState {
  baseUrl: string;
  adminToken: string;
  pid: number;
  dataDir: string;
}

/** The running stack global-setup started. */
export function readState(): StackState {
  const file = process.env[STATE_ENV];
  if (!file) throw new Error(`${STATE_ENV} is not set: run the tests through playwright.config.ts`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as StackState;
}
