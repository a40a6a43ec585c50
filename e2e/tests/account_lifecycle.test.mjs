// Browser end-to-end test of the account lifecycle on the settings page: change the password,
// then delete the account (logged out everywhere), log in again during the grace period and
// keep the account from the banner.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RUN_ID,
  escapeRe,
  launchBrowser,
  navigating,
  openPage,
  pathOf,
  shot,
  registerAndLogIn,
  submitLogIn,
  waitForMail,
} from './helpers.mjs';

/** @type {import('playwright-core').Browser} */
let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

describe('Account lifecycle in the browser', { concurrency: false }, () => {
  test('change the password, delete the account, then keep it from the grace-period banner', async () => {
    const email = `lifecycle-${RUN_ID}@example.com`;
    const first = `first passphrase ${RUN_ID}`;
    const second = `second passphrase ${RUN_ID}`;
    const { context, page } = await openPage(browser);
    try {
      await registerAndLogIn(page, { email, password: first });

      // Change password.
      await page.goto('/users/settings');
      const form = page.getByRole('region', { name: 'Change password' });
      await form.getByLabel('Current password').fill(first);
      await form.getByLabel('New password', { exact: true }).fill(second);
      await form.getByLabel('Confirm new password').fill(second);
      await navigating(page, () => form.getByRole('button', { name: 'Change password' }).click());
      assert.equal(pathOf(page), '/users/settings', page.url());
      await page.getByRole('status').filter({ hasText: 'Your password was changed' }).waitFor();
      await waitForMail(page, { to: email, subject: /password was changed/ });

      // Delete the account (sudo may be asked for first; it returns to settings).
      await navigating(page, () => page.getByRole('button', { name: 'Delete my account' }).click());
      if (pathOf(page) === '/users/sudo') {
        await page.getByLabel('Password', { exact: true }).fill(second);
        await navigating(page, () => page.getByRole('button', { name: 'Confirm' }).click());
        assert.equal(pathOf(page), '/users/settings', page.url());
        await navigating(page, () => page.getByRole('button', { name: 'Delete my account' }).click());
      }
      await page.getByRole('heading', { name: 'Your account will be deleted' }).waitFor();
      const banner = await page.locator('#deletion-banner').innerText();
      assert.match(banner, /scheduled for deletion on \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
      await shot(page, 'deletion_scheduled');
      const mail = await waitForMail(page, { to: email, subject: /will be deleted on/ });
      assert.ok(banner.includes(mail.subject.replace(/^.* on /, '')), 'the mail names the same date');

      // Logged out everywhere: the dashboard asks for a log-in.
      await page.goto('/dashboard');
      assert.equal(pathOf(page), '/users/log_in', page.url());

      // Log in during the grace period: the banner offers to keep the account.
      await submitLogIn(page, { email, password: second });
      assert.equal(pathOf(page), '/users/settings/delete', page.url());
      await page.locator('#deletion-banner').waitFor();
      await shot(page, 'deletion_banner');
      await page.goto('/dashboard');
      assert.equal(pathOf(page), '/users/settings/delete', 'other pages send back to the banner');
      await navigating(page, () => page.getByRole('button', { name: 'Keep my account' }).click());
      assert.equal(pathOf(page), '/users/settings', page.url());
      await page.getByRole('status').filter({ hasText: 'will not be deleted' }).waitFor();
      await page.goto('/dashboard');
      assert.equal(pathOf(page), '/dashboard');
      assert.match(await page.locator('main').innerText(), new RegExp(escapeRe(email)));
      await waitForMail(page, { to: email, subject: /will not be deleted/ });
    } finally {
      await context.close();
    }
  });
});
