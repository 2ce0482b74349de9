#!/usr/bin/env bash
# Re-vendor the Socket.IO browser client: vendor/socket.io.min.js from the official npm package.
#
#   ./update-vendor.sh            # the version pinned in package.json
#   ./update-vendor.sh 4.8.5      # another version; package.json is updated to match
#
# Needs npm (only here: serving and testing the board needs no Node). Review the diff, then
# run the browser test (pytest -m browser) before committing.
set -euo pipefail

cd "$(dirname "$0")"
pinned=$(node -p "require('./package.json').dependencies['socket.io-client']")
version=${1:-$pinned}
if ! [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  echo "update-vendor.sh: expected an exact version like 4.8.4, got '$version'" >&2
  exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "Fetching socket.io-client@$version from the npm registry..."
tarball=$(npm pack "socket.io-client@$version" --pack-destination "$work" --silent | tail -n 1)
tar -xzf "$work/$tarball" -C "$work" package/dist/socket.io.min.js package/package.json

packed=$(node -p "require('$work/package/package.json').version")
if [[ $packed != "$version" ]]; then
  echo "update-vendor.sh: the tarball is version $packed, not $version" >&2
  exit 1
fi

mkdir -p vendor
cp "$work/package/dist/socket.io.min.js" vendor/socket.io.min.js

if [[ $version != "$pinned" ]]; then
  node -e "
    const fs = require('fs');
    const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));
    pkg.dependencies['socket.io-client'] = process.argv[1];
    fs.writeFileSync('package.json', JSON.stringify(pkg, null, 2) + '\n');
  " "$version"
fi

echo "vendor/socket.io.min.js is socket.io-client $version"
sha256sum vendor/socket.io.min.js
