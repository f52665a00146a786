import { test, expect } from './support/test';
import { adminCall, newUser, startOpportunity, uid } from './support/api';
import { SignInPage } from './pages/SignInPage';
import { InboxPage } from './pages/InboxPage';
import { TaskPage } from './pages/TaskPage';

test('an agent claims and completes the three tasks of an opportunity to WON from the inbox', async ({
  page,
}) => {
  const agent = await newUser('Alba Agent');
  const subject = uid('Fleet renewal');
  const opportunity = await startOpportunity(subject, 48000);
  await new SignInPage(page).signInAs(agent);
  const inbox = new InboxPage(page);
  const task = new TaskPage(page);

  const c = opportunity.customer;
  const steps = [
    { title: `Call ${c} to identify needs`, outcome: 'Interested' },
    { title: `Present our proposal to ${c}`, outcome: 'Presented' },
    { title: `Get the decision from ${c}`, outcome: 'Won' },
  ];
  for (const step of steps) {
    await inbox.open(`?q=${opportunity.word}`);
    const row = inbox.row(step.title);
    await expect(row).toHaveCount(1);
    await expect(row.getByTestId('assignee')).toHaveText('Team sales');
    await inbox.claim(step.title);
    await inbox.openTask(step.title);
    await task.expectTitle(step.title);
    await expect(page.getByText('€48,000.00')).toBeVisible();
    if (step.outcome === 'Interested') await task.field('Needs').fill('Twelve vans, financing over 3 years');
    await task.complete(step.outcome);
    await expect(task.success).toBeVisible();
  }

  await page
    .getByRole('link', { name: new RegExp(subject) })
    .first()
    .click();
  await expect(page.getByRole('heading', { level: 1, name: new RegExp(subject) })).toBeVisible();
  await expect(page.locator('.case-header').getByText('Won', { exact: true })).toBeVisible();
  const kase = await adminCall<{ status: string; tasks: { status: string; outcome: string | null }[] }>(
    'GET',
    `/api/cases/${opportunity.id}`,
  );
  expect(kase.status).toBe('WON');
  expect(kase.tasks.map((t) => t.outcome)).toEqual(['interested', 'presented', 'won']);
});

test('a form error is shown at its field, and the task completes once it is fixed', async ({ page }) => {
  const agent = await newUser('Fede Form');
  const subject = uid('Form check');
  const opportunity = await startOpportunity(subject);
  await new SignInPage(page).signInAs(agent);
  const inbox = new InboxPage(page);
  await inbox.open(`?q=${opportunity.word}`);
  const title = `Call ${opportunity.customer} to identify needs`;
  await inbox.claim(title);
  await inbox.openTask(title);
  const task = new TaskPage(page);
  // The step's form allows 2000 characters of needs; the API says so at /body/data/needs.
  await task.field('Needs').fill('x'.repeat(2001));
  await task.complete('Interested');
  const needs = page.locator('.field').filter({ has: page.getByLabel('Needs') });
  await expect(needs.locator('.field-error')).toHaveText(/2000/);
  await expect(task.field('Needs')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByRole('alert')).toHaveText('Some fields need a fix: see the messages below them.');

  await task.field('Needs').fill('A shorter note');
  await task.complete('Interested');
  await expect(task.success).toBeVisible();
  await expect(needs.locator('.field-error')).toHaveCount(0);
});

test('a task started elsewhere appears in the open inbox without a reload', async ({ page }) => {
  const agent = await newUser('Lola Live');
  await new SignInPage(page).signInAs(agent);
  const inbox = new InboxPage(page);
  const word = uid('Livecorp').replace('-', '');
  await inbox.open(`?q=${word}`);
  await expect(page.getByText('Nothing here. Well done!')).toBeVisible();
  await expect(page.locator('.live-dot.live')).toHaveCount(1);
  await startOpportunity(uid('Live'), 9000, word);
  await expect(inbox.row(`Call ${word} Logistics to identify needs`)).toHaveCount(1);
});
