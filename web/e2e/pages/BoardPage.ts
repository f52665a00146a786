import { expect, type Page } from '@playwright/test';

/** The supervisor's control panel. */
export class BoardPage {
  constructor(readonly page: Page) {}

  async open(team: string): Promise<void> {
    await this.page.goto(`/board/${team}`);
    await expect(
      this.page.getByRole('heading', { level: 1, name: /Team board|Panel del equipo/ }),
    ).toBeVisible();
  }

  async reassign(taskTitle: string, toName: string): Promise<void> {
    await this.page.getByRole('checkbox', { name: new RegExp(`(Select|Marcar) ${taskTitle}`) }).check();
    await this.page.getByLabel(/Reassign to|Reasignar a/).selectOption({ label: toName });
    await this.page.getByRole('button', { name: /^(Reassign|Reasignar) 1/ }).click();
    await expect(
      this.page.getByRole('status').filter({ hasText: /1 reassigned|1 reasignadas/ }),
    ).toBeVisible();
  }
}
