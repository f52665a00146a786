import { test, expect } from './support/test';
import { newUser } from './support/api';
import { SignInPage } from './pages/SignInPage';
import { InboxPage } from './pages/InboxPage';

test('an agent signs in, sees the inbox, and signs out', async ({ page }) => {
  const agent = await newUser('Ana Signin');
  const signIn = new SignInPage(page);
  await signIn.open();
  await signIn.signIn(agent.email, agent.password);
  const inbox = new InboxPage(page);
  await expect(page.getByRole('heading', { level: 1, name: 'Inbox' })).toBeVisible();
  await expect(page.getByText(agent.name)).toBeVisible();

  await inbox.signOut();
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in' })).toBeVisible();
  // The session is gone on the server too: a reload stays on the sign-in screen.
  await page.reload();
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in' })).toBeVisible();
});

test('a wrong password is refused without saying which part was wrong', async ({ page }) => {
  const agent = await newUser('Wendy Wrong');
  const signIn = new SignInPage(page);
  await signIn.open();
  await signIn.signIn(agent.email, 'not-the-password');
  await expect(signIn.error).toHaveText('The email or the password is not right.');
  await signIn.signIn('nobody@e2e.example', 'whatever-it-is');
  await expect(signIn.error).toHaveText('The email or the password is not right.');
  await expect(page.getByLabel('Password')).toHaveAttribute('aria-invalid', 'true');
});

test('repeated failed sign-ins are rate limited, even with the right password then', async ({ page }) => {
  const agent = await newUser('Rita Ratelimit');
  const signIn = new SignInPage(page);
  await signIn.open();
  // The default limit is 5 failures per 15 minutes per address and email (lib/config.ts).
  for (let i = 0; i < 5; i++) {
    await signIn.signIn(agent.email, `wrong-${i}`);
    await expect(signIn.error).toHaveText('The email or the password is not right.');
    await page.getByLabel('Password').fill('');
  }
  await signIn.signIn(agent.email, agent.password);
  await expect(signIn.error).toHaveText(/^Too many failed attempts\. Try again in 1[0-5] min\.$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in' })).toBeVisible();
});
