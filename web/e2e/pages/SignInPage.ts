import { expect, type Page } from '@playwright/test';
import type { Person } from '../support/api';

/** The sign-in screen. */
export class SignInPage {
  constructor(readonly page: Page) {}

  async open(): Promise<void> {
    await this.page.goto('/');
    await expect(this.page.getByRole('heading', { level: 1 })).toBeVisible();
  }

  async signIn(email: string, password: string): Promise<void> {
    await this.page.getByLabel(/^(Email|Correo electrónico)$/).fill(email);
    await this.page.getByLabel(/^(Password|Contraseña)$/).fill(password);
    await this.page.getByRole('button', { name: /^(Sign in|Entrar)$/ }).click();
  }

  async signInAs(person: Person): Promise<void> {
    await this.open();
    await this.signIn(person.email, person.password);
    await expect(this.page.getByRole('button', { name: new RegExp(person.name) })).toHaveCount(0);
    await expect(this.page.locator('.usermenu summary')).toBeVisible();
  }

  get error() {
    return this.page.getByRole('alert');
  }
}
