import { expect, type Locator, type Page } from '@playwright/test';

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

  /** A member's card or row (name, pending, overdue, due today, next due). */
  member(name: string): Locator {
    return this.page.getByRole('row', { name: new RegExp(name) });
  }

  /** A listed task (checkbox, title, chips and its control buttons). */
  task(title: string): Locator {
    return this.page.locator('.board-list li').filter({ has: this.page.getByRole('link', { name: title }) });
  }

  /** Opens the due date and priority form of a listed task. */
  async openSchedule(title: string): Promise<Locator> {
    await this.task(title)
      .getByRole('button', { name: new RegExp(`^(Due & priority|Plazo y prioridad): ${title}`) })
      .click();
    const form = this.page.getByRole('form', { name: new RegExp(`(of|de) ${title}`) });
    await expect(form).toBeVisible();
    return form;
  }

  /** Opens the "add an action" form for the case of a listed task. */
  async openAddAction(title: string): Promise<Locator> {
    await this.task(title)
      .getByRole('button', { name: new RegExp(`^(Add an action|Añadir una acción): ${title}`) })
      .click();
    const form = this.page.getByRole('form', { name: /^(Add an action to|Añadir una acción a) / });
    await expect(form).toBeVisible();
    return form;
  }
}
