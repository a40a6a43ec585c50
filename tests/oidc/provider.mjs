// A real OpenID provider (oidc-provider) for Sigra's social log-in tests.
//
// Listens on 127.0.0.1 on a free port and prints one line `LISTENING http://127.0.0.1:<port>`
// when ready; exits when its stdin closes, so it never outlives the test process that
// started it. Besides the provider's own endpoints it serves:
//
//   POST /test/accounts  {id, email, email_verified, name}  stores (or replaces) an account; sub = id
//   POST /test/tamper    {account, claims, badsig}          changes the next ID token issued for
//                        that account once: claims set to null are removed, others overwritten,
//                        then the token is signed again with the provider's key (same kid);
//                        with badsig the signature is corrupted
//   GET  /interaction/:uid?account=<id>   signs <id> in and grants the requested scopes
//   GET  /interaction/:uid?deny=1         answers the client with access_denied
//   GET  /interaction/:uid                a page listing every account (a.account) and #deny
//
// Clients come from the env var OIDC_CLIENTS (a JSON array of client metadata); without it
// there is one client, `sigra-test` / `sigra-test-secret`.

import http from 'node:http';

import * as jose from 'jose';
import Provider from 'oidc-provider';

const DEFAULT_CLIENTS = [
  {
    client_id: 'sigra-test',
    client_secret: 'sigra-test-secret',
    redirect_uris: [
      'http://localhost:8000/users/auth/idp/callback',
      'http://localhost:8000/users/auth/idp2/callback',
      'http://localhost:8000/users/auth/formpost/callback',
      'http://localhost:8000/users/auth/trusted/callback',
    ],
  },
];

function clientsFromEnv() {
  const raw = process.env.OIDC_CLIENTS;
  const clients = raw ? JSON.parse(raw) : DEFAULT_CLIENTS;
  return clients.map((client) => ({
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...client,
  }));
}

const KID = 'sigra-test-rs256';

// ---- accounts and pending ID token changes --------------------------------------------

/** accountId -> {email?, email_verified, name?} */
const accounts = new Map();
/** accountId -> {claims, badsig}, used by the next ID token for that account */
const tampering = new Map();

function storeAccount(body) {
  if (typeof body?.id !== 'string' || body.id === '') {
    throw new Error('an account needs a string "id"');
  }
  accounts.set(body.id, {
    email: body.email ?? undefined,
    email_verified: body.email_verified === true || body.email_verified === 'true',
    name: body.name ?? undefined,
  });
}

async function findAccount(_ctx, sub) {
  const account = accounts.get(sub);
  if (!account) return undefined;
  return {
    accountId: sub,
    // The provider keeps the claims the granted scopes name (claims config below).
    async claims() {
      const claims = { sub, email_verified: account.email_verified };
      if (account.email !== undefined) claims.email = account.email;
      if (account.name !== undefined) claims.name = account.name;
      return claims;
    },
  };
}

// ---- small HTTP helpers ----------------------------------------------------------------

function readJson(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'));
      } catch (err) {
        reject(err);
      }
    });
    req.on('error', reject);
  });
}

function send(res, status, type, body) {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Cache-Control', 'no-store');
  res.end(body);
}

function escapeHtml(s) {
  return String(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

// ---- start ------------------------------------------------------------------------------

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const privateJwk = { ...(await jose.exportJWK(privateKey)), kid: KID, alg: 'RS256', use: 'sig' };

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: clientsFromEnv(),
  jwks: { keys: [privateJwk] },
  findAccount,
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  scopes: ['openid', 'email', 'profile', 'offline_access'],
  // The scopes' claims go into the ID token too, not only to the userinfo endpoint.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  cookies: { keys: ['sigra-test-cookie-key-1', 'sigra-test-cookie-key-2'] },
});

// The ID token changes a test asked for (POST /test/tamper), applied to token responses.
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path !== '/token' || ctx.status !== 200 || typeof ctx.body?.id_token !== 'string') {
    return;
  }
  const { sub } = jose.decodeJwt(ctx.body.id_token);
  const change = tampering.get(sub);
  if (!change) return;
  tampering.delete(sub);

  const header = jose.decodeProtectedHeader(ctx.body.id_token);
  const payload = { ...jose.decodeJwt(ctx.body.id_token) };
  for (const [key, value] of Object.entries(change.claims ?? {})) {
    if (value === null) delete payload[key];
    else payload[key] = value;
  }
  let token = await new jose.CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader(header)
    .sign(privateKey);
  if (change.badsig) {
    const [h, p, s] = token.split('.');
    const i = Math.floor(s.length / 2);
    const flipped = s[i] === 'A' ? 'B' : 'A';
    token = [h, p, s.slice(0, i) + flipped + s.slice(i + 1)].join('.');
  }
  ctx.body = { ...ctx.body, id_token: token };
});

async function interaction(req, res, url) {
  const account = url.searchParams.get('account');
  const deny = url.searchParams.get('deny') === '1';

  if (deny) {
    await provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'The user denied the request',
    }, { mergeWithLastSubmission: false });
    return;
  }

  if (!account) {
    // The page a person sees (the browser suite clicks here): every known account.
    const links = [...accounts.entries()]
      .map(([id, a]) => `<li><a class="account" data-account="${escapeHtml(id)}" href="?account=${escapeHtml(encodeURIComponent(id))}">Sign in as ${escapeHtml(a.email ?? id)}</a></li>`)
      .join('\n');
    send(res, 200, 'text/html; charset=utf-8', `<!DOCTYPE html>
<html><head><title>Test OpenID provider: choose an account</title></head>
<body><h1>Test OpenID provider</h1><p>Choose an account to sign in with.</p>
<ul>${links}</ul>
<p><a id="deny" href="?deny=1">Cancel</a></p>
</body></html>`);
    return;
  }

  if (!accounts.has(account)) {
    send(res, 400, 'text/plain; charset=utf-8', `unknown account ${account}`);
    return;
  }

  // Log-in and consent in one step: a grant for everything asked, then both results, so
  // the provider needs no second (consent) interaction.
  const details = await provider.interactionDetails(req, res);
  const { params, prompt } = details;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: account, clientId: params.client_id });
  if (params.scope) grant.addOIDCScope(params.scope);
  const claims = new Set(prompt.details?.missingOIDCClaims ?? []);
  if (params.claims) {
    const requested = JSON.parse(params.claims);
    for (const part of [requested.id_token, requested.userinfo]) {
      for (const claim of Object.keys(part ?? {})) claims.add(claim);
    }
  }
  if (claims.size) grant.addOIDCClaims([...claims]);
  const grantId = await grant.save();

  await provider.interactionFinished(req, res, {
    login: { accountId: account },
    consent: { grantId },
  }, { mergeWithLastSubmission: true });
}

const callback = provider.callback();

server.on('request', async (req, res) => {
  const url = new URL(req.url, issuer);
  try {
    if (req.method === 'POST' && url.pathname === '/test/accounts') {
      storeAccount(await readJson(req));
      send(res, 204, 'text/plain', '');
    } else if (req.method === 'POST' && url.pathname === '/test/tamper') {
      const body = await readJson(req);
      if (typeof body?.account !== 'string') throw new Error('tamper needs a string "account"');
      tampering.set(body.account, { claims: body.claims ?? {}, badsig: body.badsig === true });
      send(res, 204, 'text/plain', '');
    } else if (req.method === 'GET' && /^\/interaction\/[^/]+$/.test(url.pathname)) {
      await interaction(req, res, url);
    } else {
      callback(req, res);
    }
  } catch (err) {
    if (!res.headersSent) {
      send(res, 400, 'text/plain; charset=utf-8', `${err.name}: ${err.message}`);
    }
  }
});

const stop = () => process.exit(0);
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();

process.stdout.write(`LISTENING ${issuer}\n`);
