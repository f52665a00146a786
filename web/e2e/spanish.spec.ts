import { test, expect } from './support/test';
import { newUser, startOpportunity } from './support/api';
import { SignInPage } from './pages/SignInPage';
import { InboxPage } from './pages/InboxPage';

test.use({ locale: 'es-ES', timezoneId: 'Europe/Madrid' });

test('a Spanish session: screens, dates and money in Spanish', async ({ page }) => {
  const agent = await newUser('Lucía Española', 'agent', ['sales'], 'es');
  const opportunity = await startOpportunity('Renovación', 12500);
  const signIn = new SignInPage(page);
  await signIn.open();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Iniciar sesión');
  await signIn.signIn(agent.email, 'contraseña-mala');
  await expect(signIn.error).toHaveText('El correo o la contraseña no son correctos.');
  await signIn.signIn(agent.email, agent.password);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Bandeja');

  const inbox = new InboxPage(page);
  await inbox.open(`?q=${opportunity.word}`);
  await expect(page.getByRole('button', { name: /^Por asignar/ })).toBeVisible();
  const title = `Call ${opportunity.customer} to identify needs`;
  const row = inbox.row(title);
  // Due in two days (P2D): "the day after tomorrow" in Spanish.
  await expect(row.getByTestId('due')).toHaveText('Vence pasado mañana');
  await expect(row.getByTestId('assignee')).toHaveText('Equipo sales');
  await inbox.claim(title);
  await inbox.openTask(title);
  await expect(page.getByText('12.500,00 €')).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Historial' })).toBeVisible();
  await expect(page.getByText('Asignada', { exact: true })).toBeVisible();
});
