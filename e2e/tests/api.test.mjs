// The example app's JSON API (`/api/notes`) from outside the browser: a script registers and
// confirms an account in JSON, gets a JWT from `POST /users/api/token`, verifies it against
// `/.well-known/jwks.json` with an independent implementation (npm `jose`), and calls the API
// with the access token and with a scoped API key.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'playwright-core';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { BASE_URL, RUN_ID, waitForMail } from './helpers.mjs';

/** A cookie-keeping JSON client (like a single-page app in a browser tab). */
async function jsonClient() {
  const api = await request.newContext({
    baseURL: BASE_URL,
    extraHTTPHeaders: { Accept: 'application/json' },
  });
  const csrf = async () => (await (await api.get('/users/csrf')).json()).token;
  const send = async (method, path, data) =>
    api.fetch(path, { method, data, headers: { 'X-CSRF-Token': await csrf() } });
  return { api, send };
}

/** The status and JSON body of a fetch answer (read once). */
async function answer(res) {
  const text = await res.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body, text, headers: res.headers };
}

/** A call with `Authorization: Bearer <credential>` and no cookie. */
function bearer(credential, path, { method = 'GET', body } = {}) {
  return fetch(`${BASE_URL}${path}`, {
    method,
    headers: {
      Accept: 'application/json',
      Authorization: `Bearer ${credential}`,
      ...(body ? { 'Content-Type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
}

describe('The JSON API with tokens and keys', { concurrency: false }, () => {
  test('a script gets a JWT that jose verifies against the JWKS, and calls the notes API with it and with a scoped key', async () => {
    const email = `api-${RUN_ID}@example.com`;
    const password = `api passphrase ${RUN_ID}`;
    const { api, send } = await jsonClient();
    try {
      // Register and confirm by code, in JSON.
      let res = await send('POST', '/users/register', {
        email, password, display_name: 'API script', accept_terms: true,
      });
      assert.equal(res.status(), 200, await res.text());
      const mail = await waitForMail({ request: api }, { to: email, subject: /confirm/i });
      const code = mail.text.match(/\b(\d{6})\b/)[1];
      res = await send('POST', '/users/confirm', { email, code });
      assert.equal(res.status(), 200, await res.text());

      // A token from the JSON log-in: no cookie is set, none is needed.
      const issued = await fetch(`${BASE_URL}/users/api/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ email, password, device_name: 'e2e script' }),
      });
      assert.equal(issued.status, 200);
      assert.equal(issued.headers.get('set-cookie'), null, 'the token endpoint sets no cookie');
      const tokens = await issued.json();
      assert.equal(tokens.token_type, 'Bearer');
      assert.ok(tokens.refresh_token, 'a refresh token');

      // jose, not Sigra, checks the signature with the published key.
      const header = decodeProtectedHeader(tokens.access_token);
      assert.equal(header.alg, 'EdDSA');
      const jwks = createRemoteJWKSet(new URL(`${BASE_URL}/.well-known/jwks.json`));
      const { payload } = await jwtVerify(tokens.access_token, jwks, { algorithms: ['EdDSA'] });
      for (const claim of ['iss', 'aud', 'exp', 'iat', 'nbf', 'sub', 'jti', 'sid']) {
        assert.ok(payload[claim] !== undefined, `claim ${claim}`);
      }
      assert.equal(payload.exp - payload.iat, tokens.expires_in);

      // The API with the access token.
      let got = await answer(await bearer(tokens.access_token, '/api/notes', { method: 'POST', body: { text: 'first' } }));
      assert.equal(got.status, 201, got.text);
      assert.equal(got.body.via, 'access_token');
      got = await answer(await bearer(tokens.access_token, '/api/notes'));
      assert.deepEqual(got.body.notes, ['first']);
      const me = await (await bearer(tokens.access_token, '/users/api/me')).json();
      assert.equal(me.email ?? email, email);
      assert.equal(me.via, 'access_token');

      // A tampered token is refused with an RFC 6750 challenge, not a redirect.
      const [h, p, s] = tokens.access_token.split('.');
      const forged = `${h}.${p}.${s.startsWith('A') ? 'B' : 'A'}${s.slice(1)}`;
      await assert.rejects(jwtVerify(forged, jwks, { algorithms: ['EdDSA'] }));
      got = await answer(await bearer(forged, '/api/notes'));
      assert.equal(got.status, 401, got.text);
      assert.match(got.headers.get('www-authenticate') ?? '', /^Bearer/);

      // A key that may only read: logged in as the browser would be, under sudo.
      res = await send('POST', '/users/log_in', { email, password });
      assert.equal(res.status(), 200, await res.text());
      res = await send('POST', '/users/settings/api-keys', { name: 'reader', scopes: ['notes:read'] });
      assert.ok([200, 201].includes(res.status()), await res.text());
      const key = (await res.json()).key;
      assert.match(key, /^sigra_sk_[A-Za-z0-9_-]{43}$/);
      got = await answer(await bearer(key, '/api/notes'));
      assert.equal(got.status, 200, got.text);
      assert.deepEqual(got.body.notes, ['first']);
      got = await answer(await bearer(key, '/api/notes', { method: 'POST', body: { text: 'second' } }));
      assert.equal(got.status, 403, got.text);
      assert.match(got.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
      assert.equal(got.body.error, 'insufficient_scope');
    } finally {
      await api.dispose();
    }
  });
});
