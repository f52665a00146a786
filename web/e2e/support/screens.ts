import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { expect, type Page } from '@playwright/test';

export const SCREENSHOT_DIR = path.join(__dirname, '..', 'screenshots');

/** Writes a screenshot artifact (git-ignored): web/e2e/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  // From the top: a full-page capture of a scrolled page paints the sticky top bar in the middle of it.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

/** Runs axe (WCAG 2.2 A/AA rules) and fails on any serious or critical violation, listing them. */
export async function expectAccessible(page: Page): Promise<void> {
  const results = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'])
    .analyze();
  const bad = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  expect(bad, bad.join('\n')).toEqual([]);
}

/**
 * Every visible control in the main area (buttons, button-like links, chip links, selects, inputs other than
 * checkboxes and radios, which sit in 44 px labels) is at least 44 px tall; lists those that are not.
 */
export async function smallTouchTargets(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [
      ...document.querySelectorAll(
        'main button, main a.button, main a.chip, main select, main input:not([type=checkbox]):not([type=radio]), main label.check, main label.person',
      ),
    ]
      .filter((el) => (el as HTMLElement).offsetParent !== null)
      .filter((el) => el.getBoundingClientRect().height < 44)
      .map((el) => el.outerHTML.slice(0, 80)),
  );
}

/** Whether the page scrolls sideways (it must not on a phone). */
export async function scrollsSideways(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
}
