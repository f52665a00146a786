import { test, expect } from './support/test';
import { newUser, startOpportunity } from './support/api';
import { SignInPage } from './pages/SignInPage';
import { InboxPage } from './pages/InboxPage';

test('the last inbox loaded stays readable offline, with a clear offline banner', async ({
  page,
  context,
}) => {
  const agent = await newUser('Olga Offline');
  const opportunity = await startOpportunity('Offline read');
  await new SignInPage(page).signInAs(agent);
  const inbox = new InboxPage(page);
  await inbox.open(`?q=${opportunity.word}`);
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  // Loaded again under the service worker's control, so it keeps this inbox.
  await page.reload();
  await expect(page.evaluate(() => navigator.serviceWorker.controller !== null)).resolves.toBe(true);
  const title = `Call ${opportunity.customer} to identify needs`;
  await expect(inbox.row(title)).toHaveCount(1);

  await context.setOffline(true);
  // A task created meanwhile cannot show: what the page shows offline comes from the cache.
  const later = await startOpportunity('Offline later', 1000, `${opportunity.word}x`);
  await page.reload();
  await expect(page.getByRole('status').filter({ hasText: 'You are offline' })).toBeVisible();
  await expect(inbox.row(title)).toHaveCount(1);
  await expect(inbox.row(`Call ${later.customer} to identify needs`)).toHaveCount(0);

  await context.setOffline(false);
  await expect(page.getByRole('status').filter({ hasText: 'You are offline' })).toHaveCount(0);
});
