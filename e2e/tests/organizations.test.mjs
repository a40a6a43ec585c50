// Browser end-to-end test of organizations: an owner creates one and invites a second
// person, who accepts from the dev mailbox in a second browser context (creating their
// account on the invitation page); the owner changes their role, then removes them, and
// the removed member's next request is refused. Team notes (example_app's /notes) stay
// within their organization.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RUN_ID,
  followLinkFromDevMailbox,
  launchBrowser,
  linkIn,
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

describe('organizations in the browser', { concurrency: false }, () => {
  test('create, invite, accept from the mailbox, change the role, remove', async (t) => {
    const owner = { email: `org-owner-${RUN_ID}@example.com`, password: `owner passphrase ${RUN_ID}` };
    const invitee = { email: `org-bob-${RUN_ID}@example.com`, password: `bob passphrase ${RUN_ID}` };
    const slug = `acme-${RUN_ID}`.toLowerCase();
    const a = await openPage(browser);
    const b = await openPage(browser);
    try {
      // The owner: a personal organization from registration, then a new one.
      await registerAndLogIn(a.page, owner);
      await a.page.goto('/organizations');
      await a.page.getByRole('heading', { name: 'Organizations', level: 1 }).waitFor();
      assert.equal(await a.page.locator('li.organization').count(), 1, 'the personal organization');
      await a.page.getByLabel('Name', { exact: true }).fill(`Acme ${RUN_ID}`);
      await a.page.getByLabel('Address (optional)').fill(slug);
      await navigating(a.page, () => a.page.getByRole('button', { name: 'Create organization' }).click());
      assert.equal(pathOf(a.page), `/organizations/${slug}`);
      await a.page.locator('#my-role').filter({ hasText: 'owner' }).waitFor();
      await a.page.locator('#active-organization').waitFor();
      await shot(a.page, 'organization_created');

      // Invite.
      await a.page.getByLabel('Email', { exact: true }).fill(invitee.email);
      await a.page.getByLabel('Role', { exact: true }).selectOption('member');
      await navigating(a.page, () => a.page.getByRole('button', { name: 'Send invitation' }).click());
      await a.page.getByText('The invitation is on its way.').waitFor();
      await a.page.locator(`li.invitation[data-email="${invitee.email}"]`).waitFor();
      await shot(a.page, 'organization_invited');

      // The invitee, in another browser context: from the mailbox to a new account.
      const mail = await waitForMail(b.page, { to: invitee.email, subject: /invited you to/ });
      const link = linkIn(mail, '/organizations/invitations/');
      await followLinkFromDevMailbox(b.page, t, mail, link, { screenshot: 'invitation_mail' });
      assert.equal(pathOf(b.page), new URL(link).pathname);
      await b.page.getByRole('heading', { name: `Join Acme ${RUN_ID}` }).waitFor();
      assert.equal(await b.page.locator('#invitation-account-email').inputValue(), invitee.email);
      await shot(b.page, 'invitation_page');
      await b.page.getByLabel('Password', { exact: true }).fill(invitee.password);
      await navigating(b.page, () => b.page.getByRole('button', { name: 'Create account and join' }).click());
      assert.equal(pathOf(b.page), `/organizations/${slug}`);
      await b.page.getByText('Welcome! You joined the organization.').waitFor();
      await b.page.locator('#my-role').filter({ hasText: 'member' }).waitFor();
      assert.equal(await b.page.locator('#invite-email').count(), 0, 'members cannot invite');
      await shot(b.page, 'invitation_accepted');

      // The owner sees the new member and makes them an admin.
      await a.page.goto(`/organizations/${slug}`);
      const row = a.page.locator(`li.member[data-email="${invitee.email}"]`);
      await row.waitFor();
      assert.equal(await row.getAttribute('data-role'), 'member');
      assert.equal(await a.page.locator('li.invitation').count(), 0, 'the invitation is used up');
      await row.locator('select').selectOption('admin');
      await navigating(a.page, () => row.getByRole('button', { name: /Change role/ }).click());
      await a.page.getByText('The role was changed.').waitFor();
      assert.equal(await a.page.locator(`li.member[data-email="${invitee.email}"]`).getAttribute('data-role'), 'admin');
      await shot(a.page, 'organization_role_changed');

      // The invitee, now an admin, sees the invite form.
      await b.page.goto(`/organizations/${slug}`);
      await b.page.locator('#my-role').filter({ hasText: 'admin' }).waitFor();
      await b.page.locator('#invite-email').waitFor();

      // Team notes (example_app's /notes) are shared within the active organization only.
      const note = `hello from bob ${RUN_ID}`;
      await b.page.goto('/notes');
      await b.page.locator('#note-body').fill(note);
      await navigating(b.page, () => b.page.locator('#note-add').click());
      await b.page.locator('li.note', { hasText: note }).waitFor();
      await a.page.goto('/notes');
      await a.page.locator('li.note', { hasText: note }).waitFor();
      await shot(a.page, 'organization_notes');
      await a.page.goto('/organizations');
      const personal = a.page.locator('li.organization', { hasText: 'Personal' });
      await navigating(a.page, () => personal.getByRole('button', { name: /Switch to/ }).click());
      await a.page.goto('/notes');
      assert.equal(await a.page.locator('li.note', { hasText: note }).count(), 0, 'not in the personal organization');
      await a.page.goto('/organizations');
      const acme = a.page.locator(`li.organization[data-slug="${slug}"]`);
      await navigating(a.page, () => acme.getByRole('button', { name: /Switch to/ }).click());
      await a.page.goto(`/organizations/${slug}`);

      // Removed: the member's very next request is refused.
      await navigating(a.page, () =>
        a.page.locator(`li.member[data-email="${invitee.email}"]`).getByRole('button', { name: /Remove/ }).click(),
      );
      await a.page.getByText('The member was removed.').waitFor();
      assert.equal(await a.page.locator(`li.member[data-email="${invitee.email}"]`).count(), 0);
      await shot(a.page, 'organization_member_removed');
      const res = await b.page.goto(`/organizations/${slug}`);
      assert.equal(res?.status(), 404, 'the removed member no longer sees the organization');
      await shot(b.page, 'organization_removed_member');
      const notes = await b.page.goto('/notes');
      assert.equal(notes?.status(), 403, 'the removed member no longer works in it');
      await b.page.goto('/organizations');
      assert.equal(await b.page.locator(`li.organization[data-slug="${slug}"]`).count(), 0);
    } finally {
      await a.context.close();
      await b.context.close();
    }
  });
});
