#!/usr/bin/env bash
# Copy the official socket.io-client browser build (the version pinned in tests/js/package.json,
# the one the tests use) into web/vendor/, where the binary embeds it, with its license.
set -euo pipefail
cd "$(dirname "$0")/.."
(cd tests/js && npm ci --no-audit --no-fund --loglevel=error)
cp tests/js/node_modules/socket.io-client/dist/socket.io.min.js web/vendor/socket.io.min.js
cp tests/js/node_modules/socket.io-client/LICENSE web/vendor/socket.io-client.LICENSE
echo "vendored socket.io-client $(node -p "require('./tests/js/node_modules/socket.io-client/package.json').version")"
