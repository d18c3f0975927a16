#!/bin/sh
# The client command of the conformance suite's auth scenarios: `mcpmux probe`
# against the scenario's server (its URL is the last argument). A
# pre-registered client comes from MCP_CONFORMANCE_CONTEXT; the secret goes
# through the environment, not the command line. Needs MCPMUX (the binary) and
# BROWSER (tests/conformance/browser.py) set by the caller.
set -eu
url="$1"
set --
if [ -n "${MCP_CONFORMANCE_CONTEXT:-}" ]; then
    id=$(printf '%s' "$MCP_CONFORMANCE_CONTEXT" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("client_id") or "")')
    secret=$(printf '%s' "$MCP_CONFORMANCE_CONTEXT" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("client_secret") or "")')
    [ -n "$id" ] && set -- --client-id "$id"
    [ -n "$secret" ] && export MCPMUX_CLIENT_SECRET="$secret"
fi
case "${MCP_CONFORMANCE_SCENARIO:-}" in
    auth/client-credentials-basic) set -- "$@" --grant client-credentials ;;
esac
exec "$MCPMUX" probe --url "$url" --call test-tool --args '{}' --timeout 20s \
    --client-metadata-url https://conformance-test.local/client-metadata.json "$@"
