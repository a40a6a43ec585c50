// Browser end-to-end test of personal API keys: create one from the settings page, copy it
// with the button (the page's script runs under Sigra's Content-Security-Policy), see that
// it is never shown again, and revoke it.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE_URL,
  RUN_ID,
  launchBrowser,
  navigating,
  openPage,
  pathOf,
  shot,
  registerAndLogIn,
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

describe('API keys in the browser', { concurrency: false }, () => {
  test('create a key, copy it with the button, then revoke it', async () => {
    const email = `keys-${RUN_ID}@example.com`;
    const password = `keys passphrase ${RUN_ID}`;
    const { context, page } = await openPage(browser);
    const blocked = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) blocked.push(m.text());
    });
    try {
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE_URL });
      await registerAndLogIn(page, { email, password });

      await page.goto('/users/settings');
      await navigating(page, () => page.getByRole('link', { name: 'Manage API keys' }).click());
      assert.equal(pathOf(page), '/users/settings/api-keys');
      await page.getByText('You have no API keys.').waitFor();
      await page.getByLabel('Name', { exact: true }).fill('deploy script');
      await page.getByLabel('notes:read', { exact: true }).check();
      await page.getByLabel('Expires after (days)').fill('30');
      // The log-in a moment ago opened the sudo window.
      await navigating(page, () => page.getByRole('button', { name: 'Create key' }).click());
      const key = (await page.locator('#api-key-value').innerText()).trim();
      assert.match(key, /^sigra_sk_[A-Za-z0-9_-]{43}$/);
      await shot(page, 'api_key_created');

      await page.locator('#api-key-copy').click();
      await page.locator('#api-key-copy-status').filter({ hasText: 'Copied.' }).waitFor();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), key, 'the clipboard holds the key');
      assert.deepEqual(blocked, [], 'the policy blocked nothing');

      await page.goto('/users/settings/api-keys');
      assert.equal(await page.locator('#api-key-value').count(), 0, 'shown once');
      const item = page.locator('li.api-key').filter({ hasText: 'deploy script' });
      await item.getByText(`${key.slice(0, 12)}…`).waitFor();
      await waitForMail(page, { to: email, subject: /A new API key was created/ });

      await navigating(page, () => item.getByRole('button', { name: /Revoke/ }).click());
      await page.getByText('The key was revoked.').waitFor();
      await page.getByText('You have no API keys.').waitFor();
      await waitForMail(page, { to: email, subject: /was revoked/ });
    } finally {
      await context.close();
    }
  });
});
