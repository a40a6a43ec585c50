// Browser end-to-end test of social log-in against a real OpenID provider (npm
// oidc-provider, started by e2e/run.sh on loopback; example_app has it as provider `idp`,
// "Test IdP"): sign up and in with the provider's button, link and unlink from the
// connections page, and an existing account that is not taken over but linked once its
// owner logs in.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RUN_ID,
  launchBrowser,
  logOut,
  navigating,
  openPage,
  pathOf,
  registerAndLogIn,
  shot,
  submitLogIn,
} from './helpers.mjs';

const ISSUER = process.env.E2E_OIDC_ISSUER;

/** @type {import('playwright-core').Browser} */
let browser;

before(async () => {
  assert.ok(ISSUER, 'E2E_OIDC_ISSUER is set (e2e/run.sh starts the provider)');
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

/** Makes an account at the provider. */
async function providerAccount(id, email) {
  const res = await fetch(`${ISSUER}/test/accounts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id, email, email_verified: true, name: `Person ${id}` }),
  });
  assert.equal(res.status, 204, `POST ${ISSUER}/test/accounts answered ${res.status}`);
  return { id, email };
}

/**
 * On the provider's page (reached by `press`), chooses `account` and comes back. A browser
 * still signed in at the provider (`again`) comes straight back without a page there.
 */
async function signInAtProvider(page, account, press, screenshot, { again = false } = {}) {
  await navigating(page, press);
  if (again) {
    assert.ok(!page.url().startsWith(ISSUER), `straight back from the provider: ${page.url()}`);
    return;
  }
  assert.ok(page.url().startsWith(ISSUER), `at the provider: ${page.url()}`);
  const choice = page.locator(`a.account[data-account="${account.id}"]`);
  await choice.waitFor();
  if (screenshot) await shot(page, screenshot);
  await navigating(page, () => choice.click());
  assert.ok(!page.url().startsWith(ISSUER), `back from the provider: ${page.url()}`);
}

async function dashboardOpen(page) {
  const r = await page.request.get('/dashboard', { maxRedirects: 0 });
  return r.status() === 200;
}

describe('Social log-in in the browser', { concurrency: false }, () => {
  test('signs up and in with the provider button', async () => {
    const account = await providerAccount(`e2e-new-${RUN_ID}`, `oauth-new-${RUN_ID}@idp.test`);
    const { context, page } = await openPage(browser);
    try {
      await page.goto('/users/log_in');
      const button = page.locator('#oauth-idp');
      assert.equal((await button.textContent()).trim(), 'Continue with Test IdP');
      await shot(page, 'oauth-01-log-in-with-provider-button');
      await signInAtProvider(page, account, () => button.click(), 'oauth-02-provider-choose-account');
      assert.notEqual(pathOf(page), '/users/log_in', `signed in: ${page.url()}`);
      assert.ok(await dashboardOpen(page), 'the dashboard is open to this browser');

      await page.goto('/users/settings');
      await page.locator('#settings-connections').waitFor();
      await navigating(page, () => page.locator('#settings-connections').click());
      assert.equal(pathOf(page), '/users/settings/connections');
      const row = page.locator('#connections li[data-provider="idp"]');
      assert.match(await row.textContent(), new RegExp(account.email.replace(/[.+]/g, '\\$&')));
      await shot(page, 'oauth-03-connections-after-sign-up');

      // Signed out and back in with the same provider account (still signed in at the
      // provider): the same account.
      await logOut(page);
      await page.goto('/users/log_in');
      await signInAtProvider(page, account, () => page.locator('#oauth-idp').click(), null, {
        again: true,
      });
      assert.ok(await dashboardOpen(page));
      await page.goto('/users/settings');
      assert.match(await page.content(), new RegExp(account.email.replace(/[.+]/g, '\\$&')));
    } finally {
      await context.close();
    }
  });

  test('links and unlinks a provider account from the connections page', async () => {
    const email = `oauth-link-${RUN_ID}@example.com`;
    const password = `oauth link passphrase ${RUN_ID}`;
    const account = await providerAccount(`e2e-link-${RUN_ID}`, `oauth-link-${RUN_ID}@idp.test`);
    const { context, page } = await openPage(browser);
    try {
      await registerAndLogIn(page, { email, password });
      await page.goto('/users/settings/connections');
      await page.locator('#connections-empty').waitFor();
      await shot(page, 'oauth-04-connections-empty');
      // Sudo is fresh after the log-in: the button goes straight to the provider.
      await signInAtProvider(page, account, () => page.locator('#oauth-link-idp').click());
      assert.equal(pathOf(page), '/users/settings/connections');
      await page.getByRole('status').filter({ hasText: 'was linked' }).waitFor();
      await page.locator('#connections li[data-provider="idp"]').waitFor();
      await shot(page, 'oauth-05-connections-linked');

      await navigating(page, () => page.locator('#oauth-unlink-idp').click());
      assert.equal(pathOf(page), '/users/settings/connections');
      await page.getByRole('status').filter({ hasText: 'was unlinked' }).waitFor();
      await page.locator('#connections-empty').waitFor();
      await shot(page, 'oauth-06-connections-unlinked');
    } finally {
      await context.close();
    }
  });

  test('an existing account is not taken over: its owner logs in, then links', async () => {
    const email = `oauth-exists-${RUN_ID}@example.com`;
    const password = `oauth exists passphrase ${RUN_ID}`;
    const { context, page } = await openPage(browser);
    try {
      await registerAndLogIn(page, { email, password });
      await logOut(page);
      // The same address at the provider, which example_app does not trust for email.
      const account = await providerAccount(`e2e-exists-${RUN_ID}`, email);
      await page.goto('/users/log_in');
      await signInAtProvider(page, account, () => page.locator('#oauth-idp').click());
      assert.equal(pathOf(page), '/users/auth/idp/callback');
      await page.locator('#oauth-account-exists').waitFor();
      assert.ok(!(await dashboardOpen(page)), 'not signed in');
      await shot(page, 'oauth-07-account-exists');

      // The owner logs in with the password on that page and is offered the link.
      await submitLogIn(page, { email, password });
      assert.equal(pathOf(page), '/users/settings/connections');
      await page.locator('#oauth-pending').waitFor();
      await shot(page, 'oauth-08-link-waiting');
      await navigating(page, () => page.locator('#oauth-link-pending').click());
      await page.getByRole('status').filter({ hasText: 'was linked' }).waitFor();
      await page.locator('#connections li[data-provider="idp"]').waitFor();

      // From now on the provider signs in to this account.
      await logOut(page);
      await page.goto('/users/log_in');
      await signInAtProvider(page, account, () => page.locator('#oauth-idp').click(), null, {
        again: true,
      });
      assert.ok(await dashboardOpen(page));
    } finally {
      await context.close();
    }
  });
});
