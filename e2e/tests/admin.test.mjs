// Browser end-to-end test of the admin console: admin@example.com (example_app's
// sigra.admin.emails in the debug profile) becomes an admin when confirmed; the dashboard draws its
// charts as inline SVG; the user search finds an account; the admin locks and unlocks it,
// then acts as it (with a reason) and sees the banner, is refused a password change, and
// stops, getting their own session back; the audit explorer and its verification page.
// Screenshots of every admin page, light and dark, and at 390 px wide.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RUN_ID,
  launchBrowser,
  linkIn,
  navigating,
  openPage,
  pathOf,
  registerAndLogIn,
  shot,
  waitForMail,
} from './helpers.mjs';

const ADMIN = { email: 'admin@example.com', password: `admin passphrase ${RUN_ID}` };

/** @type {import('playwright-core').Browser} */
let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

/** The page's content is no wider than its viewport (tables scroll inside their box). */
async function assertNoSidewaysScroll(page) {
  const { scroll, width, widest } = await page.evaluate(() => {
    const over = [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-wrap'))
      .map((e) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}.${[...e.classList].join('.')}`);
    return { scroll: document.documentElement.scrollWidth, width: window.innerWidth, widest: over.slice(0, 5) };
  });
  assert.ok(scroll <= width, `${pathOf(page)} is ${scroll}px wide in a ${width}px viewport: ${widest.join(', ')}`);
}

describe('admin console in the browser', { concurrency: false }, () => {
  test('dashboard, search, lock, impersonate with a reason, audit', async () => {
    const victim = { email: `admin-victim-${RUN_ID}@example.com`, password: `victim passphrase ${RUN_ID}` };
    const a = await openPage(browser);
    const v = await openPage(browser);
    try {
      await registerAndLogIn(v.page, victim);

      // The admin: register, confirm from the mailbox, and the console opens.
      await registerAndLogIn(a.page, ADMIN);
      const mail = await waitForMail(a.page, { to: ADMIN.email, subject: /confirm/i });
      await a.page.goto(linkIn(mail, '/users/confirm/'));
      await navigating(a.page, () => a.page.getByRole('button', { name: /confirm/i }).first().click());
      await a.page.goto('/admin');
      await a.page.getByRole('heading', { name: 'Admin', level: 1 }).waitFor();
      assert.equal(await a.page.locator('svg.chart').count(), 3, 'three charts');
      assert.equal(await a.page.locator('script').count(), 0, 'no script on the dashboard');
      const users = Number(await a.page.locator('#stat-users').textContent());
      assert.ok(users >= 2, `users counted: ${users}`);
      await a.page.locator('svg.chart desc').first().waitFor({ state: 'attached' });
      await shot(a.page, 'admin_dashboard');

      // Search, then the user's page.
      await a.page.goto('/admin/users');
      await a.page.getByLabel('Email starts with').fill(victim.email.slice(0, 14));
      await navigating(a.page, () => a.page.getByRole('button', { name: 'Search' }).click());
      const row = a.page.locator('tr.user-row', { hasText: victim.email });
      await row.waitFor();
      await shot(a.page, 'admin_users');
      await navigating(a.page, () => row.getByRole('link', { name: victim.email }).click());
      assert.match(pathOf(a.page), /^\/admin\/users\/[0-9a-f-]{36}$/);
      await a.page.locator('#admin-user-email').filter({ hasText: victim.email }).waitFor();
      await shot(a.page, 'admin_user');

      // Lock: the victim's next request is logged out; unlock.
      await navigating(a.page, () => a.page.locator('#action-lock').click());
      await a.page.getByText('The account is locked').waitFor();
      await a.page.locator('#profile-locked').waitFor();
      await shot(a.page, 'admin_user_locked');
      await v.page.goto('/users/settings');
      assert.equal(pathOf(v.page), '/users/log_in', 'the locked account is logged out');
      await navigating(a.page, () => a.page.locator('#action-unlock').click());
      await a.page.getByText('The account is unlocked.').waitFor();

      // Impersonate with a reason: the banner, a refused credential change, then stop.
      const userPage = a.page.url();
      await a.page.getByLabel('Reason for acting as this account').fill(`Ticket ${RUN_ID}`);
      await navigating(a.page, () => a.page.locator('#impersonate').click());
      await a.page.goto('/users/settings');
      const banner = a.page.locator('#impersonation-banner');
      await banner.waitFor();
      assert.match(await banner.textContent(), new RegExp(victim.email.replace(/[.+]/g, '\\$&')));
      await shot(a.page, 'impersonation_banner');
      const refused = await a.page.request.post('/users/settings/password', {
        headers: { Accept: 'application/json', 'X-CSRF-Token': await a.page.locator('meta[name="csrf-token"]').getAttribute('content') },
        data: { current_password: victim.password, password: 'x', password_confirmation: 'x' },
      });
      assert.equal(refused.status(), 403);
      assert.equal((await refused.json()).error, 'impersonation_forbidden');
      await navigating(a.page, () => a.page.locator('#impersonation-stop').click());
      assert.equal(pathOf(a.page), new URL(userPage).pathname, 'back on the user page as the admin');
      assert.equal(await a.page.locator('#impersonation-banner').count(), 0);
      const told = await waitForMail(v.page, { to: victim.email, subject: /acted as you/ });
      assert.match(told.text, new RegExp(`Ticket ${RUN_ID}`));

      // The audit explorer and its verification.
      await a.page.goto('/admin/audit');
      await a.page.getByRole('heading', { level: 1 }).waitFor();
      assert.ok((await a.page.content()).includes('impersonation.started'), 'the impersonation is in the log');
      await shot(a.page, 'admin_audit');
      await a.page.goto('/admin/audit/verify');
      await a.page.getByRole('heading', { level: 1 }).waitFor();
      await shot(a.page, 'admin_audit_verify');
    } finally {
      await a.context.close();
      await v.context.close();
    }
  });

  test('admin pages in dark mode and at 390 px', async () => {
    const d = await openPage(browser, { colorScheme: 'dark', viewport: { width: 390, height: 844 } });
    try {
      await d.page.goto('/users/log_in');
      await d.page.getByLabel('Email', { exact: true }).first().fill(ADMIN.email);
      await d.page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
      await navigating(d.page, () => d.page.getByRole('button', { name: 'Log in', exact: true }).click());
      for (const [path, name] of [
        ['/admin', 'admin_dashboard_dark_390'],
        ['/admin/users', 'admin_users_dark_390'],
        ['/admin/organizations', 'admin_organizations_dark_390'],
        ['/admin/audit', 'admin_audit_dark_390'],
        ['/admin/audit/verify', 'admin_audit_verify_dark_390'],
      ]) {
        const res = await d.page.goto(path);
        assert.equal(res?.status(), 200, `GET ${path}`);
        await assertNoSidewaysScroll(d.page);
        await shot(d.page, name);
      }
      await d.page.goto('/admin/users');
      await navigating(d.page, () => d.page.locator('tr.user-row a').first().click());
      await assertNoSidewaysScroll(d.page);
      await shot(d.page, 'admin_user_dark_390');
    } finally {
      await d.context.close();
    }
  });
});
