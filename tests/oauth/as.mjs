// The OAuth 2.1 authorization server of the end-to-end tests, and nothing
// else: panva's oidc-provider (a certified implementation nobody on this
// project wrote), configured so that mcpmux's OAuth client can be exercised
// headlessly against it: open dynamic client registration (RFC 7591), PKCE
// S256 required, resource indicators (RFC 8707) giving JWT access tokens whose
// `aud` is the resource, a refresh token on every code grant, rotated on every
// refresh, and every authorization approved without a login or consent page.
// Two plain-HTTP test hooks count what happened and revoke refresh tokens.
//
// Usage (Node >= 22; oidc-provider installed by scripts/test-deps into
// .cache/oauth):
//   node tests/oauth/as.mjs [--port N] [--access-ttl SECONDS] [--refresh-ttl SECONDS]
// Prints `LISTENING <port>` on stdout once it accepts connections on
// 127.0.0.1; everything else goes to stderr. See tests/oauth/README.md.

import { createRequire } from 'node:module';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';

// stdout carries the single LISTENING line; oidc-provider prints its notices
// with console.info, so every console method but error/warn goes to stderr.
for (const name of ['log', 'info', 'debug']) {
  console[name] = (...args) => console.error(...args);
}

function usage(message) {
  if (message) console.error(`as.mjs: ${message}`);
  console.error('usage: node tests/oauth/as.mjs [--port N] [--access-ttl SECONDS] [--refresh-ttl SECONDS]');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { port: 0, accessTtl: 3600, refreshTtl: 14 * 24 * 3600 };
  const names = { '--port': 'port', '--access-ttl': 'accessTtl', '--refresh-ttl': 'refreshTtl' };
  for (let i = 0; i < argv.length; i += 1) {
    let arg = argv[i];
    let value;
    const eq = arg.indexOf('=');
    if (eq !== -1) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    if (arg === '--help' || arg === '-h') usage();
    const key = names[arg];
    if (!key) usage(`unknown argument ${arg}`);
    if (value === undefined) {
      i += 1;
      if (i >= argv.length) usage(`${arg} needs a value`);
      value = argv[i];
    }
    if (!/^\d+$/.test(value)) usage(`${arg} needs a non-negative integer, not ${value}`);
    opts[key] = Number(value);
  }
  if (opts.port > 65535) usage('--port must be at most 65535');
  if (opts.accessTtl < 1) usage('--access-ttl must be at least 1');
  if (opts.refreshTtl < 1) usage('--refresh-ttl must be at least 1');
  return opts;
}

// oidc-provider is looked up in .cache/oauth (where scripts/test-deps puts
// it), then the usual node resolution from this file.
async function importProvider() {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const cached = path.resolve(here, '../../.cache/oauth/node_modules/oidc-provider');
  if (fs.existsSync(path.join(cached, 'package.json'))) {
    const require = createRequire(path.join(cached, 'package.json'));
    const entry = require.resolve('oidc-provider');
    return import(pathToFileURL(entry).href);
  }
  return import('oidc-provider');
}

const opts = parseArgs(process.argv.slice(2));
const { default: Provider, errors } = await importProvider();

const ACCOUNT_ID = 'mcpmux-test-user';
const RESOURCE_SCOPE = 'mcp offline_access';

const stats = {
  registrations: 0,
  authorizations: 0,
  code_grants: 0,
  refresh_grants: 0,
  refresh_failures: 0,
};
// Identifiers of every refresh token stored so far, for the revoke hook.
const refreshTokenIds = new Set();

function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };
}

function isHttpUrl(value) {
  const url = URL.parse(value);
  return url !== null && (url.protocol === 'http:' || url.protocol === 'https:');
}

const configuration = {
  jwks: { keys: [signingKey()] },
  scopes: ['openid', 'offline_access', 'mcp'],
  clientAuthMethods: ['none', 'client_secret_basic', 'client_secret_post'],
  clientDefaults: {
    // Native: http loopback redirect URIs are accepted and matched on any
    // port (RFC 8252 section 7.3); a client may still register as "web".
    application_type: 'native',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  },
  responseTypes: ['code'],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    registration: { enabled: true, initialAccessToken: false },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // A token or refresh request without `resource` gets the resource
      // the authorization was granted for.
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, resourceIndicator) => {
        if (!isHttpUrl(resourceIndicator)) {
          throw new errors.InvalidTarget('resource indicator must be an http(s) URL');
        }
        return {
          scope: RESOURCE_SCOPE,
          audience: resourceIndicator,
          accessTokenTTL: opts.accessTtl,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  issueRefreshToken: async () => true,
  rotateRefreshToken: true,
  expiresWithSession: async () => false,
  ttl: {
    AccessToken: () => opts.accessTtl,
    RefreshToken: () => opts.refreshTtl,
    AuthorizationCode: 600,
    Interaction: 600,
    Grant: 14 * 24 * 3600,
    Session: 14 * 24 * 3600,
    IdToken: 3600,
  },
  interactions: {
    url: async (_ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  findAccount: async (_ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub }),
  }),
  renderError: async (ctx, out) => {
    ctx.type = 'json';
    ctx.body = out;
  },
};

// The interaction endpoint: logs the fixed account in and grants what the
// authorization request asked for (Grant API), in one submission, then
// sends the browser back to oidc-provider's resume URL.
async function finishInteraction(provider, ctx, uid) {
  const interaction = await provider.Interaction.find(uid);
  if (!interaction) {
    ctx.status = 400;
    ctx.body = { error: 'invalid_request', error_description: 'interaction not found or expired' };
    return;
  }
  const { params } = interaction;
  let grant;
  if (interaction.grantId) grant = await provider.Grant.find(interaction.grantId);
  if (!grant) grant = new provider.Grant({ accountId: ACCOUNT_ID, clientId: params.client_id });
  const scope = typeof params.scope === 'string' ? params.scope : '';
  if (scope) grant.addOIDCScope(scope);
  let resources = params.resource ?? [];
  if (!Array.isArray(resources)) resources = [resources];
  for (const resource of resources) {
    grant.addResourceScope(resource, scope);
  }
  const grantId = await grant.save();
  interaction.result = {
    login: { accountId: ACCOUNT_ID, remember: false },
    consent: { grantId },
  };
  const now = Math.floor(Date.now() / 1000);
  await interaction.save(Math.max(interaction.exp - now, 1));
  ctx.status = 303;
  ctx.redirect(interaction.returnTo);
}

// oidc-provider's resume endpoint wants the `_interaction_resume` cookie it
// set on the authorization request; a client without a cookie jar (Python's
// urlopen) does not send it back, so it is added here: its value is the uid
// in the resume path (cookies are not signed: no cookies.keys).
function addResumeCookie(provider, ctx, uid) {
  const name = provider.cookieName('resume');
  const header = ctx.req.headers.cookie ?? '';
  const has = header.split(';').some((c) => c.trim().startsWith(`${name}=`));
  if (!has) {
    ctx.req.headers.cookie = header ? `${header}; ${name}=${uid}` : `${name}=${uid}`;
  }
}

function sendJson(ctx, status, body) {
  ctx.status = status;
  ctx.type = 'json';
  ctx.body = body;
}

function buildProvider(issuer) {
  const provider = new Provider(issuer, configuration);

  provider.on('registration_create.success', () => { stats.registrations += 1; });
  provider.on('authorization.success', () => { stats.authorizations += 1; });
  provider.on('grant.success', (ctx) => {
    const gty = ctx.oidc?.params?.grant_type;
    if (gty === 'authorization_code') stats.code_grants += 1;
    if (gty === 'refresh_token') stats.refresh_grants += 1;
  });
  provider.on('grant.error', (ctx, err) => {
    const gty = ctx.oidc?.params?.grant_type ?? ctx.oidc?.body?.grant_type;
    if (gty === 'refresh_token') stats.refresh_failures += 1;
    console.error(`as.mjs: ${gty ?? 'token'} request failed: ${err.error ?? err.message} (${err.error_detail ?? err.error_description ?? ''})`);
  });
  provider.on('refresh_token.saved', (token) => { refreshTokenIds.add(token.jti); });
  provider.on('refresh_token.destroyed', (token) => { refreshTokenIds.delete(token.jti); });
  provider.on('server_error', (_ctx, err) => { console.error('as.mjs: server_error', err); });

  provider.use(async (ctx, next) => {
    const p = ctx.path;
    if (p === '/test/stats' && ctx.method === 'GET') {
      sendJson(ctx, 200, stats);
      return;
    }
    if (p === '/test/revoke-refresh-tokens' && ctx.method === 'POST') {
      const ids = [...refreshTokenIds];
      await Promise.all(ids.map((jti) => provider.RefreshToken.adapter.destroy(jti)));
      refreshTokenIds.clear();
      console.error(`as.mjs: revoked ${ids.length} refresh token(s)`);
      ctx.status = 204;
      return;
    }
    let m = /^\/interaction\/([^/]+)$/.exec(p);
    if (m && ctx.method === 'GET') {
      await finishInteraction(provider, ctx, m[1]);
      return;
    }
    // An authorization request without `scope` (MCP clients omit it when
    // nothing says which to ask for) is taken as `scope=mcp`: oidc-provider
    // would otherwise grant nothing and answer access_denied.
    if (p === '/auth' && ctx.method === 'GET' && ctx.query.scope === undefined) {
      ctx.querystring = ctx.querystring ? `${ctx.querystring}&scope=mcp` : 'scope=mcp';
    }
    m = /^\/auth\/([^/]+)$/.exec(p);
    if (m) addResumeCookie(provider, ctx, m[1]);
    // RFC 8414 metadata: the same document as OpenID discovery.
    const discovery = p === '/.well-known/oauth-authorization-server'
      || p === '/.well-known/openid-configuration';
    if (p === '/.well-known/oauth-authorization-server') {
      ctx.path = '/.well-known/openid-configuration';
    }
    await next();
    if (discovery && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
      ctx.body.code_challenge_methods_supported = ['S256'];
    }
  });
  return provider;
}

let handler = (_req, res) => {
  res.statusCode = 503;
  res.end();
};
const server = createServer((req, res) => handler(req, res));
server.on('error', (err) => {
  console.error(`as.mjs: ${err.message}`);
  process.exit(1);
});
server.listen(opts.port, '127.0.0.1', () => {
  const { port } = server.address();
  const provider = buildProvider(`http://127.0.0.1:${port}`);
  handler = provider.callback();
  console.error(`as.mjs: issuer http://127.0.0.1:${port}, access token TTL ${opts.accessTtl}s, refresh token TTL ${opts.refreshTtl}s`);
  process.stdout.write(`LISTENING ${port}\n`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => process.exit(0));
}
