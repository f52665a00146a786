import { test, expect } from './support/test';
import { adminCall, newTeam, newUser, startOpportunity } from './support/api';
import { SignInPage } from './pages/SignInPage';
import { InboxPage } from './pages/InboxPage';
import { BoardPage } from './pages/BoardPage';
import { expectAccessible, screenshot, scrollsSideways, smallTouchTargets } from './support/screens';

const SIZES = [
  { name: 'phone', width: 390, height: 844 },
  { name: 'desktop', width: 1440, height: 900 },
];

for (const size of SIZES) {
  test.describe(`every screen at ${size.width}x${size.height}`, () => {
    test.use({ viewport: { width: size.width, height: size.height }, hasTouch: size.name === 'phone' });

    test(`sign-in, inbox, task and case pages (${size.name})`, async ({ page }) => {
      const agent = await newUser('Sofía Screens');
      const opportunity = await startOpportunity('Screens tour', 18250);
      await adminCall('PATCH', `/api/cases/${opportunity.id}`, {
        data: { probability: 40, expectedCloseDate: '2027-01-31' },
      });
      const signIn = new SignInPage(page);
      await signIn.open();
      await expectAccessible(page);
      await screenshot(page, `${size.name}-sign-in`);
      await signIn.signIn(agent.email, agent.password);
      await expect(page.getByRole('heading', { level: 1 })).toHaveText('Inbox');

      const inbox = new InboxPage(page);
      await inbox.open();
      const title = `Call ${opportunity.customer} to identify needs`;
      await expect(inbox.row(title)).toHaveCount(1);
      await expectAccessible(page);
      await screenshot(page, `${size.name}-inbox`);

      if (size.name === 'phone') {
        // One-handed use: every control of the inbox is at least 44 px tall (WCAG 2.5.5).
        const small = await page.evaluate(() =>
          [
            ...document.querySelectorAll(
              'main button, main a.button, main select, main input:not([type=checkbox])',
            ),
          ]
            .filter((el) => (el as HTMLElement).offsetParent !== null)
            .filter((el) => el.getBoundingClientRect().height < 44)
            .map((el) => el.outerHTML.slice(0, 80)),
        );
        expect(small).toEqual([]);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
        expect(overflow).toBe(false);
      }

      await inbox.claim(title);
      await inbox.openTask(title);
      await expect(page.getByRole('heading', { level: 1, name: title })).toBeVisible();
      await expect(page.getByRole('link', { name: /Call Marta Compras/ })).toHaveAttribute(
        'href',
        'tel:+34600123456',
      );
      await expectAccessible(page);
      await screenshot(page, `${size.name}-task`);

      await page.getByRole('link', { name: opportunity.title }).first().click();
      await expect(page.getByRole('heading', { level: 1, name: opportunity.title })).toBeVisible();
      await expect(page.locator('.case-header').getByText('€18,250.00')).toBeVisible();
      await expectAccessible(page);
      await screenshot(page, `${size.name}-case`);
    });

    test(`supervisor board (${size.name})`, async ({ page }) => {
      const supervisor = await newUser('Sara Screens', 'supervisor', []);
      const team = await newTeam('Screens team', supervisor.id);
      await newUser('Pablo Screens', 'agent', [team]);
      await newUser('Irene Screens', 'agent', [team]);
      const opportunity = await startOpportunity('Board tour');
      for (const what of ['Visit the warehouse', 'Send the price list'])
        await adminCall('POST', `/api/cases/${opportunity.id}/tasks`, {
          title: `${what} of ${opportunity.customer}`,
          action: 'visit',
          team,
          priority: 'high',
        });
      await new SignInPage(page).signInAs(supervisor);
      const board = new BoardPage(page);
      await board.open(team);
      await expect(page.getByRole('checkbox', { name: /Visit the warehouse/ })).toBeVisible();
      await expectAccessible(page);
      await screenshot(page, `${size.name}-board`);
      // Dragging needs a mouse: a touch screen is told only to select tasks and pick a member.
      const hint = page.getByText(/^Select tasks below and pick a member/);
      if (size.name === 'phone') await expect(hint).not.toContainText('drag');
      else await expect(hint).toContainText('drag tasks onto a member');
      if (size.name === 'phone') {
        // The members fit the phone as cards, every control within reach of a thumb.
        expect(await scrollsSideways(page)).toBe(false);
        expect(await smallTouchTargets(page)).toEqual([]);
        const card = await board.member('Pablo Screens').boundingBox();
        expect(card?.width).toBeLessThanOrEqual(size.width);
      }
      await board.openSchedule(`Visit the warehouse of ${opportunity.customer}`);
      await expectAccessible(page);
      await screenshot(page, `${size.name}-board-controls`);

      await page.goto('/settings');
      await expect(page.getByRole('heading', { level: 1, name: 'Settings' })).toBeVisible();
      await expectAccessible(page);
      await screenshot(page, `${size.name}-settings`);
    });
  });
}
