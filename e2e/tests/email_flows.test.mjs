// Browser end-to-end tests of the flows that go through email: the getting-started walkthrough
// (register → confirm by the mailed link → log in → log out → forgot password → new password →
// magic link) and confirming by the mailed 6-digit code.
//
// Run through `bash e2e/run.sh`, which starts example_app with SIGRA_PUBLIC_URL set to its own
// address, so links in mails point at the running app. Mail is read in the dev mailbox. Each
// test uses its own address: resend, reset and magic-link mails are throttled per address.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RUN_ID,
  assertOnLogInAskingFor,
  escapeRe,
  fillProfile,
  followLinkFromDevMailbox,
  launchBrowser,
  linkIn,
  logOut,
  navigating,
  openPage,
  pathOf,
  shot,
  submitLogIn,
  waitForMail,
} from './helpers.mjs';

const APP_NAME = 'Sigra Example';
const CONFIRMATION_SUBJECT = /^Confirm your email\b/;
const RESET_SUBJECT = /^Reset your .+ password$/;
const MAGIC_LINK_SUBJECT = /log-in link$/;
const CODE_LINE = /Or enter this code on the confirmation page: (\d{6})\b/;

/** @type {import('playwright-core').Browser} */
let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

/** Registers `email` on a fresh registration page and waits for the "Almost there" page. */
async function register(page, email, password) {
  const res = await page.goto('/users/register');
  assert.equal(res?.status(), 200);
  await page.getByRole('heading', { name: 'Create your account' }).waitFor();
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await fillProfile(page);
  await navigating(page, () => page.getByRole('button', { name: 'Create account' }).click());
  await page.getByRole('heading', { name: 'Almost there' }).waitFor();
  assert.match(await page.locator('main').innerText(), new RegExp(escapeRe(email)));
}

/** The log-in page after a flow, with its notice. */
async function assertOnLogInWithNotice(page, code, text) {
  const url = new URL(page.url());
  assert.equal(url.pathname, '/users/log_in', `expected the log-in page, got ${page.url()}`);
  assert.equal(url.searchParams.get('notice'), code, `notice in ${page.url()}`);
  await page.getByRole('heading', { name: 'Log in', exact: true }).waitFor();
  await page.getByRole('status').filter({ hasText: text }).waitFor();
}

/** Logged in as `email`: "/" says so, and the protected dashboard shows the address. */
async function assertSignedInAs(page, email) {
  assert.equal(pathOf(page), '/', `after log-in: ${page.url()}`);
  assert.match(await page.locator('main').innerText(), new RegExp(`Signed in as ${escapeRe(email)}`));
  await page.goto('/dashboard');
  assert.equal(pathOf(page), '/dashboard', `the dashboard while logged in: ${page.url()}`);
  assert.equal(await page.locator('#dashboard-email').textContent(), email);
}

/** A GET of a used single-use link shows the "invalid or expired" page with a 404. */
async function assertLinkUsedUp(page, link, heading) {
  const res = await page.request.get(link);
  assert.equal(res.status(), 404, `GET ${link} after use`);
  assert.match(await res.text(), heading);
}

describe('Email flows in the browser', { concurrency: false }, () => {
  test('getting started: register, confirm by link, log in and out, reset the password, magic link', async (t) => {
    const email = `gs-${RUN_ID}@example.com`;
    const password = `Marble-harbor-${RUN_ID}-quiver`;
    const newPassword = `Copper-meadow-${RUN_ID}-falcon`;
    const { context, page } = await openPage(browser);
    let otherDevice;
    try {
      // 2. Register.
      await register(page, email, password);

      // 3. Confirm the email: the mail arrives in the dev mailbox; its link opens a page whose
      //    button confirms.
      const confirmMail = await waitForMail(page, { to: email, subject: CONFIRMATION_SUBJECT });
      const confirmLink = linkIn(confirmMail, '/users/confirm/');
      assert.match(confirmMail.text, CODE_LINE);
      await navigating(page, () => page.getByRole('link', { name: 'dev mailbox', exact: true }).click());
      await followLinkFromDevMailbox(page, t, confirmMail, confirmLink, {
        screenshot: 'dev_mailbox_confirmation',
      });
      await page.getByRole('heading', { name: 'Confirm your email' }).waitFor();
      await shot(page, 'confirmation_link');
      await navigating(page, () => page.getByRole('button', { name: 'Confirm my email' }).click());
      await assertOnLogInWithNotice(page, 'confirmed', 'Your email is confirmed. You can log in.');
      await shot(page, 'login_notice_confirmed');
      await assertLinkUsedUp(page, confirmLink, /This link is invalid or has expired/);

      // 4. Log in → "/" (no return_to), showing who is signed in; 5. the protected route works.
      await submitLogIn(page, { email, password });
      await assertSignedInAs(page, email);

      // Another device logged in (remembered) before the reset, to see it logged out after.
      otherDevice = await openPage(browser);
      await otherDevice.page.goto('/dashboard');
      assertOnLogInAskingFor(otherDevice.page, '/dashboard');
      await submitLogIn(otherDevice.page, { email, password, rememberMe: true });
      assert.equal(pathOf(otherDevice.page), '/dashboard');

      // 6. Log out → protected routes ask to log in again.
      await logOut(page);
      await page.goto('/dashboard');
      assertOnLogInAskingFor(page, '/dashboard');

      // 7. Request a password reset from the log-in page.
      await navigating(page, () => page.getByRole('link', { name: 'Forgot your password?' }).click());
      assert.equal(pathOf(page), '/users/reset-password');
      await page.getByRole('heading', { name: 'Forgot your password?' }).waitFor();
      await shot(page, 'reset_password');
      await page.getByLabel('Email', { exact: true }).fill(email);
      await navigating(page, () => page.getByRole('button', { name: 'Email me a reset link' }).click());
      await page.getByRole('heading', { name: 'Check your email' }).waitFor();
      const sentText = await page.locator('main').innerText();
      assert.match(sentText, new RegExp(escapeRe(email)));
      assert.match(sentText, /reset your password/);
      await shot(page, 'email_sent_reset');

      // 8. Follow the link from the mail, via the dev mailbox the page points to.
      const resetMail = await waitForMail(page, { to: email, subject: RESET_SUBJECT });
      const resetLink = linkIn(resetMail, '/users/reset-password/');
      await navigating(page, () => page.getByRole('link', { name: 'dev mailbox', exact: true }).click());
      await followLinkFromDevMailbox(page, t, resetMail, resetLink);
      await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
      assert.equal(await page.locator('#reset-email').inputValue(), email);
      await shot(page, 'reset_password_edit');
      await page.getByLabel('New password', { exact: true }).fill(newPassword);
      await page.getByLabel('Confirm new password', { exact: true }).fill(newPassword);
      await navigating(page, () => page.getByRole('button', { name: 'Save new password' }).click());
      await assertOnLogInWithNotice(
        page,
        'password_reset',
        'Your password was changed. Log in with the new one.',
      );
      // No automatic log-in.
      await page
        .getByRole('navigation', { name: 'Account' })
        .getByRole('link', { name: 'Log in', exact: true })
        .waitFor();
      await shot(page, 'login_notice_password_reset');
      await assertLinkUsedUp(page, resetLink, /This reset link is invalid or has expired/);

      // The reset ended the other device's session, remember-me included.
      await otherDevice.page.goto('/dashboard');
      assertOnLogInAskingFor(otherDevice.page, '/dashboard');

      // 9. Log in with the new password.
      await submitLogIn(page, { email, password: newPassword });
      await assertSignedInAs(page, email);
      await logOut(page);

      // The old password no longer works.
      await page.goto('/users/log_in');
      await submitLogIn(page, { email, password });
      assert.equal(pathOf(page), '/users/log_in');
      const error = page.locator('#login-error');
      await error.waitFor();
      assert.equal(await error.getAttribute('role'), 'alert');
      assert.equal((await error.innerText()).trim(), 'Invalid email or password.');

      // Magic link: "Email me a sign-in link" on the log-in page.
      await page.locator('#magic-link-email').fill(email);
      await navigating(page, () => page.getByRole('button', { name: 'Email me a sign-in link' }).click());
      await page.getByRole('heading', { name: 'Check your email' }).waitFor();
      const magicSentText = await page.locator('main').innerText();
      assert.match(magicSentText, new RegExp(escapeRe(email)));
      assert.match(magicSentText, /sign-in link/);
      await shot(page, 'email_sent_magic_link');
      const magicMail = await waitForMail(page, { to: email, subject: MAGIC_LINK_SUBJECT });
      const magicLink = linkIn(magicMail, '/users/magic-link/');
      await navigating(page, () => page.getByRole('link', { name: 'dev mailbox', exact: true }).click());
      await followLinkFromDevMailbox(page, t, magicMail, magicLink);
      await page.getByRole('heading', { name: `Sign in to ${APP_NAME}` }).waitFor();
      const remember = page.getByLabel('Keep me logged in on this device');
      assert.equal(await remember.isChecked(), false, 'remember me starts unticked');
      await shot(page, 'magic_link');
      await navigating(page, () => page.getByRole('button', { name: 'Sign in', exact: true }).click());
      await assertSignedInAs(page, email);
      await assertLinkUsedUp(page, magicLink, /This sign-in link is invalid or has expired/);
    } finally {
      await otherDevice?.context.close();
      await context.close();
    }
  });

  test('confirming by the 6-digit code from the mail', async () => {
    const email = `code-${RUN_ID}@example.com`;
    const password = `Pepper-lagoon-${RUN_ID}-summit`;
    const { context, page } = await openPage(browser);
    try {
      await register(page, email, password);

      // "Enter the code" → the code page, with the address filled in.
      await navigating(page, () => page.getByRole('link', { name: 'Enter the code' }).click());
      const url = new URL(page.url());
      assert.equal(url.pathname, '/users/confirm');
      assert.equal(url.searchParams.get('email'), email);
      await page.getByRole('heading', { name: 'Confirm your email' }).waitFor();
      assert.equal(await page.getByLabel('Email', { exact: true }).inputValue(), email);
      await shot(page, 'confirmation');

      const mail = await waitForMail(page, { to: email, subject: CONFIRMATION_SUBJECT });
      const code = mail.text.match(CODE_LINE)?.[1];
      assert.ok(code, `a 6-digit code in the mail:\n${mail.text}`);
      if (mail.html != null) assert.ok(mail.html.includes(code), 'the HTML part has the same code');
      const link = linkIn(mail, '/users/confirm/');

      // A wrong code: an error, the address kept.
      const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
      await page.getByLabel('Confirmation code').fill(wrong);
      await navigating(page, () => page.getByRole('button', { name: 'Confirm email', exact: true }).click());
      assert.equal(pathOf(page), '/users/confirm');
      const error = page.locator('#confirm-error');
      await error.waitFor();
      assert.equal(await error.getAttribute('role'), 'alert');
      assert.match(await error.innerText(), /not right/);
      assert.equal(await page.getByLabel('Email', { exact: true }).inputValue(), email);
      await shot(page, 'confirmation_error');

      // The right code confirms; the link from the same mail is then used up too.
      await page.getByLabel('Confirmation code').fill(code);
      await shot(page, 'confirmation_code_entered');
      await navigating(page, () => page.getByRole('button', { name: 'Confirm email', exact: true }).click());
      await assertOnLogInWithNotice(page, 'confirmed', 'Your email is confirmed. You can log in.');
      await assertLinkUsedUp(page, link, /This link is invalid or has expired/);

      await submitLogIn(page, { email, password });
      await assertSignedInAs(page, email);
    } finally {
      await context.close();
    }
  });
});
