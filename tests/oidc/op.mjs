// The OpenID Provider govkit's OIDC tests run against: panva's oidc-provider (9.13.3,
// OpenID-certified) on 127.0.0.1, configured as ../shared/specs/oidc.md records.
//
// Started by tests/integration/oidc/conftest.py; prints "READY <issuer>" on stdout once
// it listens, exits on SIGTERM. Every key is generated at start and all state is in
// memory, so each process is a fresh provider.
//
// Environment:
//   OP_CLIENT_JWKS             required: path of the relying party's public JWKS (JSON)
//   OP_PORT                    port on 127.0.0.1, default 0 (an ephemeral port)
//   OP_FAPI=2.0                the FAPI 2.0 security profile (features.fapi), and only
//                              FAPI-allowed methods and algorithms in discovery
//   OP_DPOP_NONCE=0            no DPoP server nonces (default: always required)
//   OP_CLIENT_ID               default govkit-rp
//   OP_REDIRECT_URI            default http://127.0.0.1:8765/callback (never contacted)
//   OP_POST_LOGOUT_URI         default http://127.0.0.1:8765/logged-out
//   OP_BACKCHANNEL_LOGOUT_URI  where logout tokens are POSTed (OpenID Back-Channel
//                              Logout 1.0); unset: no back-channel logout, no `sid`
//   OP_ID_TOKEN_ALG            ID token algorithm, ES256 (default) or PS256
//   OP_DEBUG=1                 log each error's real reason (error_detail) to stderr
//
// Logging in needs no browser: GET /interaction/<uid> logs the user in (login prompt)
// or grants what was asked (consent prompt) and answers 303 back to the authorization
// endpoint. The subject is the request's login_hint (default citizen-0001). The login's
// acr is the account's fixed level when it has one (citizen-low: eIDAS low), otherwise
// the first eIDAS level in acr_values, otherwise substantial; amr follows the level.
// A request whose acr_values ask more than the session's acr logs in again (step-up).
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider, { interactionPolicy } from 'oidc-provider';

const env = process.env;
if (!env.OP_CLIENT_JWKS) {
  console.error('op.mjs: OP_CLIENT_JWKS (path of the client public JWKS) is required');
  process.exit(2);
}
const clientJwks = JSON.parse(readFileSync(env.OP_CLIENT_JWKS, 'utf8'));
const FAPI = env.OP_FAPI === '2.0';
const DPOP_NONCE = env.OP_DPOP_NONCE !== '0';
const DEBUG = env.OP_DEBUG === '1';
const CLIENT_ID = env.OP_CLIENT_ID || 'govkit-rp';
const REDIRECT_URI = env.OP_REDIRECT_URI || 'http://127.0.0.1:8765/callback';
const POST_LOGOUT_URI = env.OP_POST_LOGOUT_URI || 'http://127.0.0.1:8765/logged-out';
const BACKCHANNEL_URI = env.OP_BACKCHANNEL_LOGOUT_URI || '';
const ID_TOKEN_ALG = env.OP_ID_TOKEN_ALG || 'ES256';

// eIDAS levels of assurance, as govkit.identity.AssuranceLevel names them.
const LOA = 'http://eidas.europa.eu/LoA/';
const LEVELS = [`${LOA}low`, `${LOA}substantial`, `${LOA}high`];
const AMR = { [`${LOA}low`]: ['pwd'], [`${LOA}substantial`]: ['pwd', 'sms'], [`${LOA}high`]: ['face', 'mfa'] };
const rank = (acr) => LEVELS.indexOf(acr);

const ACCOUNTS = {
  'citizen-0001': { name: 'Zhang San', given_name: 'San', family_name: 'Zhang', email: 'zhang.san@example.gov', email_verified: true },
  'citizen-0002': { name: 'Li Si', given_name: 'Si', family_name: 'Li', email: 'li.si@example.gov', email_verified: true },
  'citizen-low': { name: 'Wang Wu', given_name: 'Wu', family_name: 'Wang', email: 'wang.wu@example.gov', email_verified: false, acr: `${LOA}low` },
};

function privateJwk(keyObject, kid, alg) {
  return { ...keyObject.export({ format: 'jwk' }), kid, alg, use: 'sig' };
}

const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });

// Step-up: acr_values asking more than the session has prompts a new login.
const policy = interactionPolicy.base();
policy.get('login').checks.add(new interactionPolicy.Check(
  'acr_values_unmet',
  'the session does not meet the requested acr_values',
  (ctx) => {
    const { oidc } = ctx;
    const requested = (oidc.params.acr_values || '').split(' ').filter((v) => rank(v) >= 0);
    if (!requested.length || !oidc.session.accountId || oidc.result?.login) {
      return interactionPolicy.Check.NO_NEED_TO_PROMPT;
    }
    const wanted = Math.min(...requested.map(rank));
    return rank(oidc.session.acr) < wanted
      ? interactionPolicy.Check.REQUEST_PROMPT
      : interactionPolicy.Check.NO_NEED_TO_PROMPT;
  },
));

const client = {
  client_id: CLIENT_ID,
  application_type: 'web',
  token_endpoint_auth_method: 'private_key_jwt',
  token_endpoint_auth_signing_alg: 'ES256',
  jwks: clientJwks,
  redirect_uris: [REDIRECT_URI],
  post_logout_redirect_uris: [POST_LOGOUT_URI],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  require_pushed_authorization_requests: true,
  dpop_bound_access_tokens: true,
  id_token_signed_response_alg: ID_TOKEN_ALG,
  ...(BACKCHANNEL_URI
    ? { backchannel_logout_uri: BACKCHANNEL_URI, backchannel_logout_session_required: true }
    : {}),
};

const features = {
  devInteractions: { enabled: false },
  // The client always needs PAR (its metadata); the provider-wide switch, advertised in
  // discovery, is on only with the FAPI profile, so `govkit oidc check` sees the difference.
  pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: FAPI },
  dPoP: { enabled: true, nonceSecret: crypto.randomBytes(32), requireNonce: () => DPOP_NONCE },
  claimsParameter: { enabled: true },
  rpInitiatedLogout: {
    enabled: true,
    logoutSource: async (ctx, form) => {
      ctx.body = `<!DOCTYPE html><html><body>${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button></body></html>`;
    },
    postLogoutSuccessSource: async (ctx) => {
      ctx.body = '<!DOCTYPE html><html><body>signed out</body></html>';
    },
  },
  backchannelLogout: { enabled: true },
  userinfo: { enabled: true },
  revocation: { enabled: true },
  introspection: { enabled: true },
  ...(FAPI ? { fapi: { enabled: true, profile: '2.0' } } : {}),
};

async function autoInteraction(provider, req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, session } = details;
  let result;
  if (prompt.name === 'login') {
    const accountId = params.login_hint || 'citizen-0001';
    const requested = String(params.acr_values || '').split(' ').filter((v) => rank(v) >= 0);
    const acr = ACCOUNTS[accountId]?.acr || requested[0] || `${LOA}substantial`;
    result = { login: { accountId, acr, amr: AMR[acr] } };
  } else if (prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
    if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
    if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
    if (missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(missingResourceScopes)) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
    }
    result = { consent: { grantId: await grant.save() } };
  } else {
    throw new Error(`unexpected prompt ${prompt.name}`);
  }
  const returnTo = await provider.interactionResult(req, res, result);
  res.statusCode = 303;
  res.setHeader('Location', returnTo);
  res.setHeader('Content-Length', '0');
  res.end();
}

const server = createServer();
server.listen(Number(env.OP_PORT || 0), '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [client],
    jwks: { keys: [privateJwk(ec.privateKey, 'op-es256', 'ES256'), privateJwk(rsa.privateKey, 'op-ps256', 'PS256')] },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    // acr, auth_time and sid are supported (in the ID token when asked: acr_values,
    // max_age, back-channel logout); amr rides with the openid scope, so every ID token
    // carries the login's methods.
    claims: {
      acr: null,
      auth_time: null,
      sid: null,
      openid: ['sub', 'amr'],
      profile: ['name', 'given_name', 'family_name'],
      email: ['email', 'email_verified'],
    },
    acrValues: LEVELS,
    pkce: { required: () => true },
    features,
    // With the FAPI profile the provider offers only what FAPI 2.0 allows: the code flow,
    // private_key_jwt, asymmetric algorithms. Without it, the library defaults (which
    // include `none` client authentication, client secrets and HS256).
    ...(FAPI
      ? {
        responseTypes: ['code'],
        clientAuthMethods: ['private_key_jwt'],
        enabledJWA: {
          clientAuthSigningAlgValues: ['ES256', 'PS256', 'EdDSA'],
          requestObjectSigningAlgValues: ['ES256', 'PS256', 'EdDSA'],
          introspectionSigningAlgValues: ['ES256', 'PS256', 'EdDSA'],
          authorizationSigningAlgValues: ['ES256', 'PS256', 'EdDSA'],
        },
      }
      : {}),
    rotateRefreshToken: true,
    // The library refuses outgoing requests to special-use addresses (SSRF protection);
    // the back-channel logout receiver is the test's own server on 127.0.0.1.
    fetch: (url, options) => {
      const { dispatcher, ...rest } = options;
      return globalThis.fetch(url, new URL(url).hostname === '127.0.0.1' ? rest : options);
    },
    ttl: { AccessToken: 300, IdToken: 300, RefreshToken: 3600, Session: 3600, Interaction: 300, Grant: 3600 },
    findAccount: async (ctx, sub) => ({
      accountId: sub,
      claims: async () => {
        const { acr, ...claims } = ACCOUNTS[sub] || { name: sub };
        return { sub, ...claims };
      },
    }),
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}`, policy },
    renderError: async (ctx, out) => {
      ctx.type = 'json';
      ctx.body = out;
    },
  });
  if (DEBUG) {
    for (const event of ['server_error', 'authorization.error', 'grant.error', 'pushed_authorization_request.error',
      'userinfo.error', 'end_session.error', 'backchannel.error', 'introspection.error', 'revocation.error']) {
      provider.on(event, (...args) => {
        const err = args.find((a) => a instanceof Error);
        console.error(`op.mjs ${event}: ${err?.message} ${err?.error_detail || ''} ${err?.cause || ''}`);
      });
    }
  }
  const callback = provider.callback();
  server.on('request', (req, res) => {
    if (req.method === 'GET' && req.url.startsWith('/interaction/')) {
      autoInteraction(provider, req, res).catch((err) => {
        console.error(`op.mjs interaction: ${err.stack || err}`);
        res.statusCode = 500;
        res.end(String(err.message));
      });
      return;
    }
    callback(req, res);
  });
  console.log(`READY ${issuer}`);
});

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
