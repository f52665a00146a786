import { expect, type Page } from '@playwright/test';

/** A task: its form, outcomes and messages. */
export class TaskPage {
  constructor(readonly page: Page) {}

  async expectTitle(title: string | RegExp): Promise<void> {
    await expect(this.page.getByRole('heading', { level: 1, name: title })).toBeVisible();
  }

  field(label: string | RegExp) {
    return this.page.getByLabel(label);
  }

  async complete(outcome: string | RegExp): Promise<void> {
    await this.page
      .getByRole('group', { name: /outcome|resultado/i })
      .getByRole('button', { name: outcome, exact: true })
      .click();
  }

  get success() {
    return this.page.getByRole('status').filter({ hasText: /completed|completada|saved|guardados/i });
  }
}
