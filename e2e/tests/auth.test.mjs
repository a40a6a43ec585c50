// Browser end-to-end tests of Sigra's pages through example_app.
//
// Run through `bash e2e/run.sh`, which starts example_app on a fresh SQLite file and sets
// E2E_BASE_URL. The tests share one freshly registered account and run in order.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RUN_ID,
  assertOnLogInAskingFor,
  escapeRe,
  fillProfile,
  launchBrowser,
  logOut,
  pathOf,
  shot,
  submitLogIn as submitLogInAs,
  waitForMail,
  withPage as withPageIn,
} from './helpers.mjs';

// One fresh account per run.
const EMAIL = `e2e-${RUN_ID}@example.com`;
const PASSWORD = `Tangerine-orbit-${RUN_ID}-lantern`;

/** @type {import('playwright-core').Browser} */
let browser;
/** Cookies of the signed-in browser from the sudo test, reused by the settings test. */
let signedIn;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

/** A fresh browser context (its own cookies) with a page; closes both after `fn`. */
function withPage(options, fn) {
  return withPageIn(browser, options, fn);
}

/** Fills and submits the log-in form on the current page, waiting for the navigation. */
function submitLogIn(page, { email = EMAIL, password = PASSWORD, rememberMe = false } = {}) {
  return submitLogInAs(page, { email, password, rememberMe });
}

/** Logs in through /dashboard's redirect and checks it lands back on the dashboard. */
async function logInViaDashboard(page, options) {
  await page.goto('/dashboard');
  assertOnLogInAskingFor(page, '/dashboard');
  await submitLogIn(page, options);
  assert.equal(pathOf(page), '/dashboard', `after log-in: ${page.url()}`);
  assert.equal(await page.locator('#dashboard-email').textContent(), EMAIL);
}

describe('Sigra in the browser', { concurrency: false }, () => {
  test('register, log in, land where asked, log out', async () => {
    await withPage({}, async (page) => {
      // Registration page.
      const res = await page.goto('/users/register');
      assert.equal(res?.status(), 200);
      await assert.doesNotReject(
        page.getByRole('heading', { name: 'Create your account' }).waitFor(),
      );
      await shot(page, 'registration');
      await page.getByLabel('Email', { exact: true }).fill(EMAIL);
      await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await fillProfile(page);
      await page.getByRole('button', { name: 'Create account' }).click();

      // The example app's overridden "registration sent" page: enter the code (primary) or
      // go on to log in.
      await page.getByRole('heading', { name: 'Almost there' }).waitFor();
      assert.match(await page.locator('main').innerText(), new RegExp(escapeRe(EMAIL)));
      const enterCode = page.getByRole('link', { name: 'Enter the code' });
      assert.match((await enterCode.getAttribute('class')) ?? '', /\bbtn-primary\b/);
      const codeUrl = new URL(await enterCode.getAttribute('href'), page.url());
      assert.equal(codeUrl.pathname, '/users/confirm');
      assert.equal(codeUrl.searchParams.get('email'), EMAIL);
      await shot(page, 'registration_sent');

      // Go to log in from there.
      await page.getByRole('link', { name: 'Continue to log in' }).click();
      await page.getByRole('heading', { name: 'Log in' }).waitFor();
      assert.equal(pathOf(page), '/users/log_in');

      // Asking for the dashboard while logged out → the log-in page, remembering where to go.
      await page.goto('/dashboard');
      assertOnLogInAskingFor(page, '/dashboard');
      assert.equal(
        await page
          .locator('form[action$="/log_in"] input[type="hidden"][name="return_to"]')
          .getAttribute('value'),
        '/dashboard',
      );
      await shot(page, 'login');

      // Log in → back on the page it asked for.
      await submitLogIn(page);
      assert.equal(pathOf(page), '/dashboard', `after log-in: ${page.url()}`);
      assert.equal(await page.locator('#dashboard-email').textContent(), EMAIL);
      await shot(page, 'dashboard');

      // Log out → the dashboard asks to log in again.
      await logOut(page);
      await page.goto('/dashboard');
      assertOnLogInAskingFor(page, '/dashboard');
      await page.getByRole('heading', { name: 'Log in' }).waitFor();
    });
  });

  test('the dev mailbox shows the mail sent on registration', async () => {
    await withPage({}, async (page) => {
      // Delivered by the app's background worker: wait (bounded) until it is there.
      await waitForMail(page, { to: EMAIL, subject: /^Confirm your email\b/ });

      const res = await page.goto('/dev/mailbox');
      assert.equal(res?.status(), 200);
      await page.getByRole('heading', { name: 'Dev mailbox' }).waitFor();
      await page.getByText(EMAIL).first().waitFor();
      await shot(page, 'dev_mailbox');
    });
  });

  test('a wrong password shows the error and stays on the log-in page', async () => {
    await withPage({}, async (page) => {
      await page.goto('/users/log_in');
      await submitLogIn(page, { password: `${PASSWORD}-wrong` });
      assert.equal(pathOf(page), '/users/log_in');
      const alert = page.locator('#login-error');
      await alert.waitFor();
      assert.equal(await alert.getAttribute('role'), 'alert');
      assert.ok((await alert.innerText()).trim().length > 0, 'the error has text');
      // The email is kept, the password is not echoed back.
      assert.equal(await page.getByLabel('Email', { exact: true }).first().inputValue(), EMAIL);
      assert.equal(await page.getByLabel('Password', { exact: true }).inputValue(), '');
      await shot(page, 'login_error');
    });
  });

  test('sudo: a remembered session must re-enter the password for the sensitive action', async () => {
    await withPage({}, async (page, context) => {
      // Remember-me is only for confirmed addresses: confirm with the mailed code first.
      const mail = await waitForMail(page, { to: EMAIL, subject: /confirm/i });
      const code = mail.text.match(/code on the confirmation page: (\d{6})\b/)?.[1];
      assert.ok(code, `a 6-digit code in the mail:\n${mail.text}`);
      await page.goto(`/users/confirm?email=${encodeURIComponent(EMAIL)}`);
      await page.getByLabel('Confirmation code').fill(code);
      await page.getByRole('button', { name: 'Confirm email', exact: true }).click();
      await page.waitForURL(/notice=confirmed/);

      // Log in with "remember me", then lose the browser-session cookie: the next request
      // restores a session from the remember-me cookie, which does not count for sudo.
      await logInViaDashboard(page, { rememberMe: true });
      const names = (await context.cookies()).map((c) => c.name);
      assert.ok(names.some((n) => n.endsWith('sigra_remember_me')), `cookies: ${names}`);
      await context.clearCookies({ name: /sigra_session$/ });
      await page.goto('/dashboard');
      assert.equal(pathOf(page), '/dashboard', 'restored from the remember-me cookie');
      assert.equal(await page.locator('#dashboard-email').textContent(), EMAIL);

      // The sensitive action → the sudo page, asking to come back to the dashboard.
      await page.getByRole('button', { name: 'Run the sensitive action' }).click();
      await page.getByRole('heading', { name: "Confirm it's you" }).waitFor();
      const sudoUrl = new URL(page.url());
      assert.equal(sudoUrl.pathname, '/users/sudo');
      assert.equal(sudoUrl.searchParams.get('return_to'), '/dashboard');
      assert.equal(await page.locator('#sudo-email').inputValue(), EMAIL);
      await shot(page, 'sudo');

      await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await page.getByRole('button', { name: 'Confirm' }).click();
      await page.locator('#dashboard-email').waitFor();
      assert.equal(pathOf(page), '/dashboard');

      // Within the sudo window the action now runs.
      await page.getByRole('button', { name: 'Run the sensitive action' }).click();
      await page.getByRole('status').filter({ hasText: 'The sensitive action ran.' }).waitFor();
      assert.equal(pathOf(page), '/dashboard');
      assert.equal(new URL(page.url()).searchParams.get('done'), 'true');
      await shot(page, 'dashboard_done');
      signedIn = await context.storageState();
    });
  });

  test('settings list this session as "This device"', async (t) => {
    if (!signedIn) return t.skip('needs the signed-in browser state of the sudo test');
    await withPage({ storageState: signedIn }, async (page) => {
      await page.goto('/users/settings');
      assert.equal(pathOf(page), '/users/settings', `still signed in: ${page.url()}`);
      await page.getByRole('heading', { name: 'Account settings' }).waitFor();
      const current = page.locator('.session--current');
      await current.getByText('This device', { exact: true }).waitFor();
      await current.getByText('Remembered', { exact: true }).waitFor();
      await shot(page, 'settings');

      await page.emulateMedia({ colorScheme: 'dark' });
      await shot(page, 'settings_dark');
    });
  });

  test('the log-in page on a 390 px wide phone', async () => {
    await withPage(
      { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true },
      async (page) => {
        await page.goto('/users/log_in');
        await page.getByRole('heading', { name: 'Log in' }).waitFor();
        const overflow = await page.evaluate(
          () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
        );
        assert.ok(overflow <= 0, `no horizontal overflow at 390 px (overflow ${overflow}px)`);
        await shot(page, 'login_mobile');
      },
    );
  });

  test('an unknown page answers 404 with the error page', async () => {
    await withPage({}, async (page) => {
      const res = await page.goto('/users/nope');
      assert.equal(res?.status(), 404);
      assert.match(await page.locator('main').innerText(), /404/);
      await shot(page, 'error_404');
    });
  });
});
