import { test, expect } from './support/test';
import { adminCall, newUser, uid } from './support/api';
import { SignInPage } from './pages/SignInPage';
import { InboxPage } from './pages/InboxPage';
import { expectAccessible, screenshot, scrollsSideways, smallTouchTargets } from './support/screens';

const HOUR = 3_600_000;

/** An entity of the agent's with a visit given to her and a call given to her team (sales). */
async function scheduledFor(agentId: string) {
  const name = `${uid('Talleres').replace('-', '')} Norte`;
  const entity = await adminCall<{ id: string }>('POST', '/api/entities', { name, agentId });
  const schedule = (body: Record<string, unknown>) =>
    adminCall<{ id: string }>('POST', `/api/entities/${entity.id}/activities`, {
      status: 'scheduled',
      ...body,
    });
  const visit = await schedule({
    kind: 'visit',
    subject: `Visit ${name}`,
    notes: 'Bring the new catalogue',
    scheduledAt: new Date(Date.now() + 26 * HOUR).toISOString(),
    durationMinutes: 60,
    ownerId: agentId,
  });
  const call = await schedule({
    kind: 'call',
    scheduledAt: new Date(Date.now() + 50 * HOUR).toISOString(),
    ownerTeam: 'sales',
  });
  return { name, entityId: entity.id, visit: visit.id, call: call.id };
}

test.describe('scheduled activities in the inbox', () => {
  test('an agent sees her visit and her team’s call above the tasks and marks the visit done', async ({
    page,
  }) => {
    const agent = await newUser('Vera Visitas');
    const planned = await scheduledFor(agent.id);
    await new SignInPage(page).signInAs(agent);
    const inbox = new InboxPage(page);
    await inbox.open();

    const section = page.getByRole('region', { name: 'Scheduled activities' });
    const visit = section.getByTestId('activity-row').filter({ hasText: `Visit ${planned.name}` });
    const call = section
      .getByTestId('activity-row')
      .filter({ hasText: planned.name })
      .filter({ hasText: 'Call' });
    await expect(visit).toHaveCount(1);
    await expect(visit).toContainText('Visit');
    await expect(visit).toContainText('Bring the new catalogue');
    await expect(visit).toContainText('60 min');
    await expect(visit.getByTestId('owner')).toHaveText('Mine');
    await expect(visit.getByTestId('planned')).toHaveText(/^Planned /);
    await expect(call).toHaveCount(1);
    await expect(call.getByTestId('owner')).toHaveText('Team sales');

    // "Mine" shows only hers; the team's call is with the tasks to claim.
    await inbox.scope(/^Mine( \d+)?$/);
    await expect(visit).toHaveCount(1);
    await expect(call).toHaveCount(0);
    await inbox.scope(/^To claim/);
    await expect(call).toHaveCount(1);
    await expect(visit).toHaveCount(0);

    await inbox.scope(/^Mine & my teams/);
    await visit.getByRole('button', { name: /^Mark done/ }).click();
    await expect(visit).toHaveCount(0);
    await expect(call).toHaveCount(1);
    const done = await adminCall<{ items: { id: string; status: string; doneBy: string }[] }>(
      'GET',
      `/api/entities/${planned.entityId}/activities?status=done`,
    );
    expect(done.items.map((a) => [a.id, a.doneBy])).toEqual([[planned.visit, agent.id]]);
  });
});

test.describe('scheduled activities in a Spanish inbox on a phone', () => {
  test.use({ locale: 'es-ES', viewport: { width: 390, height: 844 }, hasTouch: true });

  test('readable in Spanish, no sideways scroll, 44 px targets', async ({ page }) => {
    const agent = await newUser('Paula Programa', 'agent', ['sales'], 'es');
    const planned = await scheduledFor(agent.id);
    await new SignInPage(page).signInAs(agent);
    const inbox = new InboxPage(page);
    await inbox.open();
    const section = page.getByRole('region', { name: 'Actividades programadas' });
    const visit = section.getByTestId('activity-row').filter({ hasText: `Visit ${planned.name}` });
    await expect(visit).toContainText('Visita');
    await expect(visit.getByTestId('owner')).toHaveText('Mía');
    await expect(visit.getByTestId('planned')).toHaveText(/^Prevista /);
    await expect(visit.getByRole('button', { name: /^Marcar hecha/ })).toBeVisible();
    await expect(section.getByTestId('activity-row').filter({ hasText: 'Llamada' }).first()).toBeVisible();
    await expectAccessible(page);
    expect(await smallTouchTargets(page)).toEqual([]);
    expect(await scrollsSideways(page)).toBe(false);
    await screenshot(page, 'phone-inbox-activities-es');
  });
});
