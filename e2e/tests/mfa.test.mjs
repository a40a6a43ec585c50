// Browser end-to-end test of two-step verification: enroll by reading the key from the page and
// computing codes here (RFC 6238), log out, log in with a code, then with a backup code.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import {
  RUN_ID,
  launchBrowser,
  logOut,
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

function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of text.replace(/=+$/, '').toUpperCase()) {
    const v = alphabet.indexOf(c);
    assert.ok(v >= 0, `base32 character ${c}`);
    bits += v.toString(2).padStart(5, '0');
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** The 6-digit TOTP code (SHA-1, 30 s) for `secret` at `offsetSteps` from now. */
function totp(secret, offsetSteps = 0) {
  const counter = Math.floor(Date.now() / 1000 / 30) + offsetSteps;
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', base32Decode(secret)).update(msg).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return value.toString().padStart(6, '0');
}

describe('Two-step verification in the browser', { concurrency: false }, () => {
  test('enroll from the page, then log in with a code and with a backup code', async () => {
    const email = `mfa-${RUN_ID}@example.com`;
    const password = `mfa passphrase ${RUN_ID}`;
    const { context, page } = await openPage(browser);
    try {
      await registerAndLogIn(page, { email, password });

      // Enroll: the QR code is drawn inline; the key is on the page as text.
      await page.goto('/users/settings');
      const turnOn = page.getByRole('link', { name: 'Turn on two-step verification' });
      assert.equal(await turnOn.getAttribute('href'), '/users/settings/mfa');
      await page.goto('/users/settings/mfa');
      // Enrollment starts with a POST (the page itself makes no secret), under sudo: the
      // log-in a moment ago opened the sudo window.
      await shot(page, 'mfa_setup');
      await navigating(page, () => page.getByRole('button', { name: 'Set up an authenticator app' }).click());
      const qr = page.locator('.qr-box svg');
      await qr.waitFor();
      const box = await qr.boundingBox();
      assert.ok(box && box.width > 100 && box.height > 100, `the QR code is visible: ${JSON.stringify(box)}`);
      const secret = (await page.locator('#totp-secret').innerText()).trim();
      assert.match(secret, /^[A-Z2-7]{32}$/);
      assert.match(await page.locator('#otpauth-link').getAttribute('href'), new RegExp(`^otpauth://totp/.*secret=${secret}`));
      await shot(page, 'mfa_enroll');
      await page.getByLabel('6-digit code from the app').fill(totp(secret));
      await navigating(page, () => page.getByRole('button', { name: 'Turn on' }).click());
      const codes = await page.locator('#backup-codes code').allInnerTexts();
      assert.equal(codes.length, 10);
      for (const c of codes) assert.match(c, /^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/);
      await shot(page, 'mfa_backup_codes');
      await waitForMail(page, { to: email, subject: /Two-step verification is on/ });

      // Log out, log in: the password alone is not enough.
      await logOut(page);
      await page.goto('/users/log_in');
      await submitLogIn(page, { email, password });
      assert.equal(pathOf(page), '/users/mfa', page.url());
      await page.goto('/dashboard');
      assert.equal(pathOf(page), '/users/mfa', 'the dashboard waits for the second factor');
      await shot(page, 'mfa_challenge');
      // The enrollment used this step's code; each step works once, so take the next one
      // (one step of drift is allowed).
      await page.getByLabel('Code', { exact: true }).fill(totp(secret, 1));
      await navigating(page, () => page.getByRole('button', { name: 'Verify' }).click());
      assert.equal(pathOf(page), '/dashboard', page.url());

      // Log out, log in with a backup code.
      await logOut(page);
      await page.goto('/users/log_in');
      await submitLogIn(page, { email, password });
      assert.equal(pathOf(page), '/users/mfa', page.url());
      await page.getByLabel('Code', { exact: true }).fill(codes[0]);
      await navigating(page, () => page.getByRole('button', { name: 'Verify' }).click());
      assert.equal(pathOf(page), '/', page.url());
      await page.goto('/users/settings');
      await page.getByText('9 unused backup codes left').waitFor();
      await waitForMail(page, { to: email, subject: /backup code was used/ });
    } finally {
      await context.close();
    }
  });
});
