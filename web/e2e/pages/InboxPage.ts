import { expect, type Locator, type Page } from '@playwright/test';

/** The agent's inbox. */
export class InboxPage {
  constructor(readonly page: Page) {}

  async open(query = ''): Promise<void> {
    await this.page.goto(`/${query}`);
    await expect(this.page.getByRole('heading', { level: 1, name: /^(Inbox|Bandeja)$/ })).toBeVisible();
  }

  /** The row of the task with this title (titles carry each test's own subject). */
  row(title: string | RegExp): Locator {
    return this.page.getByTestId('inbox-row').filter({ has: this.page.getByRole('link', { name: title }) });
  }

  async claim(title: string | RegExp): Promise<void> {
    await this.row(title)
      .getByRole('button', { name: /^(Claim|Asignarme)/ })
      .click();
    await expect(this.row(title).getByTestId('assignee')).toHaveText(/^(Mine|Mía)$/);
  }

  async openTask(title: string | RegExp): Promise<void> {
    await this.row(title).getByRole('link', { name: title }).click();
  }

  async scope(name: RegExp): Promise<void> {
    await this.page.getByRole('button', { name }).click();
  }

  async signOut(): Promise<void> {
    await this.page.locator('.usermenu summary').click();
    await this.page.getByRole('button', { name: /^(Sign out|Cerrar sesión)$/ }).click();
  }
}
