import { test, expect } from './support/test';
import { adminCall, newTeam, newUser, startOpportunity } from './support/api';
import { SignInPage } from './pages/SignInPage';
import { BoardPage } from './pages/BoardPage';
import { TaskPage } from './pages/TaskPage';
import { expectAccessible, screenshot, scrollsSideways, smallTouchTargets } from './support/screens';

const PHONE = { width: 390, height: 844 };
const ZONE = 'America/Mexico_City';

/** What the app should show for an instant in a zone: en-GB medium date, short time (the browser's locale). */
const shownIn = (iso: string, timeZone: string) =>
  new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone }).format(
    new Date(iso),
  );

test.describe('on a phone', () => {
  test.use({ viewport: PHONE, hasTouch: true });

  test('an agent delegates a task by picking a teammate by name, never someone of another team', async ({
    page,
  }) => {
    const supervisor = await newUser('Dora Delegates', 'supervisor', []);
    const team = await newTeam('Delegation team', supervisor.id);
    const other = await newTeam('Other team', supervisor.id);
    const ana = await newUser('Ana Delegates', 'agent', [team]);
    const bea = await newUser('Bea Delegates', 'agent', [team]);
    await newUser('Olga Delegates', 'agent', [other]);
    const opportunity = await startOpportunity('Delegation');
    const title = `Call ${opportunity.customer} back`;
    const created = await adminCall<{ id: string }>('POST', `/api/cases/${opportunity.id}/tasks`, {
      title,
      action: 'call',
      team,
      assignee: ana.id,
    });

    await new SignInPage(page).signInAs(ana);
    await page.goto(`/tasks/${created.id}`);
    const task = new TaskPage(page);
    await task.expectTitle(title);
    const people = await task.searchDelegates('Delegates');
    // Her teammate and their supervisor, with their emails; not herself, not Olga of the other team.
    await expect(people.getByRole('radio')).toHaveCount(2);
    await expect(people.getByRole('radio', { name: `Bea Delegates ${bea.email}` })).toBeVisible();
    await expect(people.getByRole('radio', { name: `Dora Delegates ${supervisor.email}` })).toBeVisible();
    await expect(people.getByText('Olga Delegates')).toHaveCount(0);
    // Searching by part of the email narrows the list.
    await task.searchDelegates(bea.email.slice(0, 8).toUpperCase());
    await expect(people.getByRole('radio')).toHaveCount(1);
    await expect(page.getByRole('button', { name: /^Delegate$/ })).toBeDisabled();
    await expectAccessible(page);
    expect(await smallTouchTargets(page)).toEqual([]);
    expect(await scrollsSideways(page)).toBe(false);
    await screenshot(page, 'phone-task-delegate');
    await task.delegateTo('Bea Delegates');
    await expect(page.locator('.task-head').getByText(`Assigned to ${bea.id}`)).toBeVisible();
    const after = await adminCall<{ assignee: string; delegatedBy: string }>(
      'GET',
      `/api/tasks/${created.id}`,
    );
    expect(after).toMatchObject({ assignee: bea.id, delegatedBy: ana.id });
  });

  test('a supervisor in another time zone reschedules a task and adds an action, errors shown at their fields', async ({
    page,
  }) => {
    const supervisor = await newUser('Sol Schedules', 'supervisor', []);
    const team = await newTeam('Schedule team', supervisor.id);
    const pablo = await newUser('Pablo Schedules', 'agent', [team]);
    const opportunity = await startOpportunity('Schedules');
    const title = `Visit ${opportunity.customer} plant`;
    const due = '2027-03-10T15:30:00.000Z';
    const created = await adminCall<{ id: string }>('POST', `/api/cases/${opportunity.id}/tasks`, {
      title,
      action: 'visit',
      team,
      dueAt: due,
    });

    const signIn = new SignInPage(page);
    await signIn.signInAs(supervisor);
    // The time zone, chosen in the settings and kept by the API (the browser itself is in Europe/Madrid).
    await page.goto('/settings');
    await expect(page.getByRole('heading', { level: 1, name: 'Settings' })).toBeVisible();
    const zone = page.getByLabel('Time zone');
    await expect(zone).toHaveValue('');
    await expect(zone.locator('option:checked')).toHaveText('This device (Europe/Madrid)');
    await zone.selectOption(ZONE);
    await expect(page.getByRole('status').filter({ hasText: 'Saved.' })).toBeVisible();
    await expect(page.getByTestId('zone-now')).toContainText(`(${ZONE})`);
    await expectAccessible(page);
    await screenshot(page, 'phone-settings-zone');
    const me = await page.request.get('/api/session');
    expect((await me.json()).user.timeZone).toBe(ZONE);

    const board = new BoardPage(page);
    await board.open(team);
    await expect(board.task(title).getByTestId('due')).toHaveAttribute('title', shownIn(due, ZONE));
    const schedule = await board.openSchedule(title);
    // 15:30 UTC is 09:30 in Mexico City.
    await expect(schedule.getByLabel('Due')).toHaveValue('2027-03-10T09:30');
    await schedule.getByLabel('Follow up on').fill('2027-03-11T09:00');
    await schedule.getByRole('button', { name: 'Save' }).click();
    const followUp = schedule.getByLabel('Follow up on');
    await expect(followUp).toHaveAttribute('aria-invalid', 'true');
    // Said in the supervisor's zone: the due date is 09:30 in Mexico City.
    const message = `Must not be later than the due date (${shownIn(due, ZONE)}).`;
    await expect(followUp).toHaveAccessibleDescription(`⚠ ${message}`);
    await expect(schedule.locator('.field.has-error .field-error')).toHaveText(message);
    await expectAccessible(page);
    expect(await smallTouchTargets(page)).toEqual([]);
    expect(await scrollsSideways(page)).toBe(false);
    await screenshot(page, 'phone-board-schedule-error');
    await followUp.fill('2027-03-12T07:00');
    await schedule.getByLabel('Due').fill('2027-03-12T08:00');
    await schedule.getByLabel('Priority').selectOption({ label: 'Urgent' });
    await schedule.getByRole('button', { name: 'Save' }).click();
    await expect(page.getByRole('status').filter({ hasText: `Saved: ${title}.` })).toBeVisible();
    await expect(board.task(title).getByText('Urgent')).toBeVisible();
    const rescheduled = await adminCall<{ dueAt: string; followUpAt: string; priority: string }>(
      'GET',
      `/api/tasks/${created.id}`,
    );
    // 08:00 and 07:00 in Mexico City (UTC-6) are 14:00 and 13:00 UTC.
    expect(rescheduled).toMatchObject({
      dueAt: '2027-03-12T14:00:00.000Z',
      followUpAt: '2027-03-12T13:00:00.000Z',
      priority: 'urgent',
    });

    const add = await board.openAddAction(title);
    await add.getByRole('button', { name: 'Add an action' }).click();
    const what = add.getByLabel('What to do');
    await expect(what).toHaveAttribute('aria-invalid', 'true');
    await expect(what).toHaveAccessibleDescription('⚠ Say what is to be done.');
    await what.fill(`Send ${opportunity.customer} the samples`);
    await add.getByLabel('Kind').selectOption({ label: 'Send documents' });
    await add.getByLabel('For').selectOption({ label: 'Pablo Schedules' });
    await add.getByLabel('Due').fill('2027-03-15T10:00');
    await expectAccessible(page);
    await screenshot(page, 'phone-board-add-action');
    await add.getByRole('button', { name: 'Add an action' }).click();
    await expect(
      page.getByRole('status').filter({ hasText: `Action added: Send ${opportunity.customer} the samples.` }),
    ).toBeVisible();
    // Pablo's card counts it, with its due time in the supervisor's zone.
    const card = board.member('Pablo Schedules');
    await expect(card.getByRole('cell').first()).toHaveText(/^1/);
    await expect(card.locator('time')).toHaveText(shownIn('2027-03-15T16:00:00.000Z', ZONE));
    await expect(card.locator('time')).toHaveAttribute('datetime', '2027-03-15T16:00:00.000Z');
    expect(await scrollsSideways(page)).toBe(false);
    await screenshot(page, 'phone-board-after');
    const kase = await adminCall<{ tasks: { title: string; assignee: string; action: string }[] }>(
      'GET',
      `/api/cases/${opportunity.id}`,
    );
    expect(kase.tasks).toContainEqual(
      expect.objectContaining({
        title: `Send ${opportunity.customer} the samples`,
        assignee: pablo.id,
        action: 'send-documents',
      }),
    );
  });
});
