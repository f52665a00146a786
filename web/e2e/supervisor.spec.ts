import { test, expect } from './support/test';
import { adminCall, newTeam, newUser, startOpportunity } from './support/api';
import { SignInPage } from './pages/SignInPage';
import { InboxPage } from './pages/InboxPage';
import { BoardPage } from './pages/BoardPage';

test('a supervisor reassigns a task on the board and it appears in the other agent’s open inbox', async ({
  browser,
}) => {
  const supervisor = await newUser('Sergio Super', 'supervisor', []);
  const team = await newTeam('Night shift', supervisor.id);
  await newUser('Ana Night', 'agent', [team]);
  const bea = await newUser('Bea Night', 'agent', [team]);
  const opportunity = await startOpportunity('Night visit');
  const title = `Visit ${opportunity.customer} warehouse`;
  await adminCall('POST', `/api/cases/${opportunity.id}/tasks`, { title, action: 'visit', team });

  const beaContext = await browser.newContext();
  const beaPage = await beaContext.newPage();
  await new SignInPage(beaPage).signInAs(bea);
  const beaInbox = new InboxPage(beaPage);
  await beaInbox.open(`?scope=mine&q=${opportunity.word}`);
  await expect(beaPage.getByText('Nothing here. Well done!')).toBeVisible();
  await expect(beaPage.locator('.live-dot.live')).toHaveCount(1);

  const supContext = await browser.newContext();
  const supPage = await supContext.newPage();
  await new SignInPage(supPage).signInAs(supervisor);
  const board = new BoardPage(supPage);
  await board.open(team);
  await expect(
    supPage
      .getByRole('row', { name: /Bea Night/ })
      .getByRole('cell')
      .first(),
  ).toHaveText('0');
  await board.reassign(title, 'Bea Night');
  // The board counts the task for Bea now.
  await expect(
    supPage
      .getByRole('row', { name: /Bea Night/ })
      .getByRole('cell')
      .first(),
  ).toHaveText('1');

  // Bea's open inbox shows it as hers, through the live stream.
  await expect(beaInbox.row(title).getByTestId('assignee')).toHaveText('Mine');
  await beaContext.close();
  await supContext.close();
});
