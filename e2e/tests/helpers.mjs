// Shared helpers of the browser tests (not a test file itself: `node --test tests/` only
// runs files named *.test.mjs).

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const BASE_URL = (process.env.E2E_BASE_URL ?? 'http://localhost:8000').replace(/\/+$/, '');
export const ARTIFACTS =
  process.env.E2E_ARTIFACTS_DIR ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');
const CHROMIUM = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';

/** A short id unique to this run (and this test file's process). */
export const RUN_ID = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

/** Headless Debian Chromium; also makes sure the artifacts folder exists. */
export async function launchBrowser() {
  await mkdir(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/** A fresh browser context (its own cookies) with a page. Close the context when done. */
export async function openPage(browser, options = {}) {
  const context = await browser.newContext({ baseURL: BASE_URL, ...options });
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(30_000);
  const page = await context.newPage();
  return { context, page };
}

/** A fresh browser context with a page; closes both after `fn`. */
export async function withPage(browser, options, fn) {
  const { context, page } = await openPage(browser, options);
  try {
    return await fn(page, context);
  } finally {
    await context.close();
  }
}

export async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Path of the page's current URL. */
export function pathOf(page) {
  return new URL(page.url()).pathname;
}

/** Runs `action` (a click submitting a form, say) and waits for the page it leads to. */
export async function navigating(page, action) {
  await Promise.all([
    page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame() }),
    action(),
  ]);
  await page.waitForLoadState('load');
}

export function assertOnLogInAskingFor(page, returnTo) {
  const url = new URL(page.url());
  assert.equal(url.pathname, '/users/log_in', `expected the log-in page, got ${page.url()}`);
  assert.equal(url.searchParams.get('return_to'), returnTo, `return_to in ${page.url()}`);
}

/** Fills example_app's custom registration fields (display name, terms) on the register page. */
export async function fillProfile(page, displayName = 'E2E tester') {
  await page.locator('#user_field_display_name').fill(displayName);
  await page.locator('#user_field_accept_terms').check();
}

/** Registers `email` with `password` on the register page, then logs in with them. */
export async function registerAndLogIn(page, { email, password }) {
  await page.goto('/users/register');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await fillProfile(page);
  await navigating(page, () => page.getByRole('button', { name: 'Create account' }).click());
  await page.goto('/users/log_in');
  await submitLogIn(page, { email, password });
}

/** Fills and submits the (password) log-in form on the current page, waiting for the navigation. */
export async function submitLogIn(page, { email, password, rememberMe = false }) {
  await page.getByLabel('Email', { exact: true }).first().fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  if (rememberMe) await page.getByLabel('Keep me logged in on this device').check();
  await navigating(page, () => page.getByRole('button', { name: 'Log in', exact: true }).click());
}

/** Clicks the first "Log out" button on the page and waits for where it leads. */
export async function logOut(page) {
  await navigating(page, () => page.getByRole('button', { name: 'Log out' }).first().click());
}

/** Escapes `s` for use inside a RegExp. */
export function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Waits for a mail to `to` whose subject matches `subject` in the dev mailbox (JSON), newest
 * first, with an id above `afterId`. The app's background worker delivers mail shortly after
 * the request that queued it; this polls a bounded number of times (readiness, not timing).
 */
export async function waitForMail(page, { to, subject, afterId = 0 }, { tries = 50, everyMs = 100 } = {}) {
  let seen = 0;
  for (let i = 0; i < tries; i++) {
    const res = await page.request.get('/dev/mailbox/json');
    assert.equal(res.status(), 200, 'GET /dev/mailbox/json');
    const mails = await res.json();
    assert.ok(Array.isArray(mails), 'the mailbox JSON is a list');
    seen = mails.length;
    const mail = mails.find(
      (m) => m.id > afterId && (m.to ?? []).includes(to) && subject.test(m.subject ?? ''),
    );
    if (mail) return mail;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  assert.fail(`no mail to ${to} with a subject matching ${subject} after ${tries} tries (mailbox has ${seen})`);
}

/** The one link in `mail`'s text that starts with the app's URL and `path` (e.g. "/users/confirm/"). */
export function linkIn(mail, path) {
  const prefix = `${BASE_URL}${path}`;
  const links = (mail.text.match(/https?:\/\/\S+/g) ?? []).filter((l) => l.startsWith(prefix));
  assert.equal(links.length, 1, `one ${prefix}… link in the mail "${mail.subject}":\n${mail.text}`);
  const link = links[0];
  assert.match(link.slice(prefix.length), /^[A-Za-z0-9_-]{16,}$/, `a token after ${prefix} in ${link}`);
  if (mail.html != null) assert.ok(mail.html.includes(link), 'the HTML part has the same link');
  return link;
}

/**
 * On the dev mailbox page (opened unless the page is already there), finds the mail holding
 * `link`, checks its subject and recipient, and follows `link` by clicking it there. When the page shows the link as text only, opens
 * it by address instead (and says so through `t.diagnostic`).
 */
export async function followLinkFromDevMailbox(page, t, mail, link, { screenshot } = {}) {
  if (pathOf(page) !== '/dev/mailbox') {
    const res = await page.goto('/dev/mailbox');
    assert.equal(res?.status(), 200, 'GET /dev/mailbox');
  }
  await page.getByRole('heading', { name: 'Dev mailbox' }).waitFor();
  // The list item of this very mail: the only one holding its single-use link.
  const item = page.locator('li.mail').filter({ hasText: link });
  await item.waitFor();
  assert.equal(await item.count(), 1, `one mail in the dev mailbox holds ${link}`);
  await item.getByRole('heading', { name: mail.subject, exact: true }).waitFor();
  await item.getByText(mail.to[0], { exact: true }).waitFor();
  if (screenshot) {
    await item.locator('summary', { hasText: 'Show message text' }).click();
    await item.locator('pre').waitFor();
    await shot(page, screenshot);
  }
  const anchor = item.locator(`a[href="${link}"]`);
  if ((await anchor.count()) > 0) {
    await navigating(page, () => anchor.first().click());
  } else {
    t.diagnostic(`the dev mailbox shows ${link} without a link; opening it by address`);
    await item.getByText(link).first().waitFor();
    await page.goto(link);
  }
  assert.equal(page.url(), link, 'landed on the link from the mail');
}
