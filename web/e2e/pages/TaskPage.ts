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

  /** Searches the delegate picker; the people it offers, as radio buttons named "name email". */
  async searchDelegates(text: string) {
    await this.page.getByLabel(/^(Find a person|Buscar una persona)$/).fill(text);
    return this.page.getByRole('group', { name: /^(Person to delegate to|Persona a la que delegar)$/ });
  }

  async delegateTo(name: string): Promise<void> {
    await this.page.getByRole('radio', { name: new RegExp(name) }).check();
    await this.page.getByRole('button', { name: new RegExp(`^(Delegate to|Delegar en) ${name}$`) }).click();
    await expect(
      this.page.getByRole('status').filter({ hasText: /Task delegated|Tarea delegada/ }),
    ).toBeVisible();
  }
}
