#!/usr/bin/env node
// Installs the project's pinned solc-js as `solc-v<version>` in py-solc-x's folder
// ($SOLCX_BINARY_PATH, default ~/.solcx), self-contained so it outlives this checkout:
//   <dir>/solc-v<version>            shell launcher: answers --version itself, else runs node
//   <dir>/.solcjs-v<version>/        solc-js, its runtime dependencies and solc-native.js
// A native solc already at that path is left alone: it is preferred when present.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

const MARKER = '# procurechain solc-js launcher';
const projectRoot = path.resolve(__dirname, '..', '..');
const solcPkgDir = path.dirname(require.resolve('solc/package.json', { paths: [projectRoot] }));
const solcVersionLong = require(path.join(solcPkgDir, 'soljson.js')).cwrap('solidity_version', 'string', [])();
const version = solcVersionLong.split('+')[0];

const targetDir = process.env.SOLCX_BINARY_PATH || path.join(os.homedir(), '.solcx');
const launcher = path.join(targetDir, `solc-v${version}`);
const runtimeDir = path.join(targetDir, `.solcjs-v${version}`);

function dependencyClosure(pkgDir, seen = new Map()) {
  const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
  if (seen.has(pkg.name)) return seen;
  seen.set(pkg.name, pkgDir);
  for (const dep of Object.keys(pkg.dependencies || {})) {
    const depDir = path.dirname(require.resolve(`${dep}/package.json`, { paths: [pkgDir] }));
    dependencyClosure(depDir, seen);
  }
  return seen;
}

function main() {
  if (fs.existsSync(launcher) && !fs.readFileSync(launcher, 'utf8').includes(MARKER)) {
    console.log(`solc: using the native ${launcher} already installed (not replaced)`);
    return;
  }
  fs.mkdirSync(targetDir, { recursive: true });
  const staging = fs.mkdtempSync(path.join(targetDir, '.staging-'));
  for (const [name, dir] of dependencyClosure(solcPkgDir)) {
    fs.cpSync(dir, path.join(staging, 'node_modules', name), { recursive: true, dereference: true });
  }
  fs.copyFileSync(path.join(__dirname, 'solc-native.js'), path.join(staging, 'solc-native.js'));
  fs.rmSync(runtimeDir, { recursive: true, force: true });
  fs.renameSync(staging, runtimeDir);

  const script = [
    '#!/bin/sh',
    `${MARKER} (solc-js ${solcVersionLong}); regenerate with \`make solc\``,
    'case "$1" in',
    '  --version)',
    "    printf 'solc, the solidity compiler commandline interface\\nVersion: %s\\n' " +
      `'${solcVersionLong}'`,
    '    exit 0 ;;',
    'esac',
    `exec node "$(dirname "$0")/.solcjs-v${version}/solc-native.js" "$@"`,
    '',
  ].join('\n');
  const tmp = `${launcher}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, script, { mode: 0o755 });
  fs.renameSync(tmp, launcher);
  console.log(`solc: installed solc-js ${solcVersionLong} as ${launcher}`);
}

main();
