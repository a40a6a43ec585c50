// Browser end-to-end test of passkeys, with Chromium's virtual authenticator (DevTools
// WebAuthn domain: CTAP2, internal transport, resident keys, user verification): add a
// passkey on the settings page, log out, sign in with the button, sign in again through
// the email field's autofill (conditional mediation), use it for sudo (a refusal shown in
// the page first), remove it.

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

/** A platform authenticator that holds passkeys and verifies its user, for `page`. */
async function virtualAuthenticator(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}

/** Asserts the page left the log-in page for a signed-in one. */
async function signedIn(page) {
  assert.notEqual(pathOf(page), '/users/log_in', page.url());
  const r = await page.request.get('/dashboard', { maxRedirects: 0 });
  assert.equal(r.status(), 200, 'the dashboard is open to this browser');
}

describe('Passkeys in the browser', { concurrency: false }, () => {
  test('add a passkey, sign in with the button and by autofill, use it for sudo, remove it', async () => {
    const email = `passkey-${RUN_ID}@example.com`;
    const password = `passkey passphrase ${RUN_ID}`;
    const { context, page } = await openPage(browser);
    const blocked = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) blocked.push(m.text());
    });
    try {
      const { cdp, authenticatorId } = await virtualAuthenticator(context, page);
      await registerAndLogIn(page, { email, password });

      // Add: the log-in a moment ago opened the sudo window.
      await page.goto('/users/settings');
      await navigating(page, () => page.getByRole('link', { name: 'Manage passkeys' }).click());
      assert.equal(pathOf(page), '/users/settings/passkeys');
      await page.locator('#passkeys-empty').waitFor();
      await shot(page, 'passkeys_empty');
      await page.locator('#passkey-name').fill('virtual laptop');
      await navigating(page, () => page.locator('#passkey-add').click());
      assert.equal(new URL(page.url()).search, '?notice=added', page.url());
      const item = page.locator('li.passkey');
      assert.equal(await item.count(), 1);
      await item.locator('.session__device span').first().filter({ hasText: 'virtual laptop' }).waitFor();
      await item.getByText('Bound to one device').waitFor();
      await shot(page, 'passkeys_added');
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      assert.equal(credentials.length, 1);
      assert.equal(credentials[0].isResidentCredential, true, 'a discoverable credential');
      await waitForMail(page, { to: email, subject: /passkey was added/i });

      // Sign in with the button: no email, no password. The log-in page also asks for
      // passkeys in autofill (conditional mediation), which the virtual authenticator
      // answers at once when it simulates the user's presence; held back until the click.
      await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: false });
      await logOut(page);
      await page.goto('/users/log_in');
      assert.equal(
        await page.getByLabel('Email', { exact: true }).first().getAttribute('autocomplete'),
        'username webauthn'
      );
      await page.locator('#passkey-sign-in').waitFor();
      await shot(page, 'passkeys_log_in');
      await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: true });
      await navigating(page, () => page.locator('#passkey-sign-in').click());
      await signedIn(page);
      await shot(page, 'passkeys_signed_in');

      // Again through autofill: the page's conditional request is answered as soon as the
      // authenticator offers the passkey; nothing is clicked or typed.
      await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: false });
      await logOut(page);
      await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: true });
      await page.goto('/users/log_in');
      await page.waitForURL((url) => url.pathname !== '/users/log_in');
      await page.waitForLoadState('load');
      await signedIn(page);
      const { credentials: used } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      assert.equal(used[0].signCount, credentials[0].signCount + 2, 'two passkey sign-ins');

      // Sudo with the passkey.
      await page.goto('/users/sudo?return_to=%2Fusers%2Fsettings%2Fpasskeys');
      await shot(page, 'passkeys_sudo');
      // A user who cannot be verified: the browser refuses, and the page says so in place.
      await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: false });
      await page.locator('#passkey-sudo').click();
      await page.locator('#passkey-error').filter({ hasText: /cancelled or timed out/ }).waitFor();
      assert.equal(pathOf(page), '/users/sudo', 'no reload');
      await shot(page, 'passkeys_sudo_refused');
      await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: true });
      await navigating(page, () => page.locator('#passkey-sudo').click());
      assert.equal(pathOf(page), '/users/settings/passkeys', page.url());

      // Remove it (the account keeps its password).
      await navigating(page, () =>
        page.locator('li.passkey').getByRole('button', { name: /^Remove/ }).click()
      );
      assert.equal(new URL(page.url()).search, '?notice=removed', page.url());
      assert.equal(await page.locator('li.passkey').count(), 0);
      await shot(page, 'passkeys_removed');
      await waitForMail(page, { to: email, subject: /passkey was removed/i });
      assert.deepEqual(blocked, [], 'the policy blocked nothing');
    } finally {
      await context.close();
    }
  });
});
