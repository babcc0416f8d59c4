#!/usr/bin/env node
// A native-compatible command line for solc-js, for py-solc-x and ape-solidity.
//
// Supports what py-solc-x calls: `--version` (normally answered by the shell
// launcher without starting node), and `--standard-json [--base-path DIR]
// [--include-path DIR]... [--allow-paths A,B]` with the JSON input on stdin.
// Imports are read from disk through an import callback, resolved like native
// solc: against the base path, then each include path, then as given.
// stdout carries the compiler's JSON and nothing else.
'use strict';

const fs = require('fs');
const path = require('path');

function fail(message) {
  process.stderr.write(`solc (solc-js wrapper): ${message}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const opts = { standardJson: false, basePath: null, includePaths: [], version: false };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? arg.split(/=(.*)/s) : [arg, null];
    const value = () => {
      if (inline !== null) return inline;
      i += 1;
      if (i >= argv.length) fail(`${flag} needs a value`);
      return argv[i];
    };
    switch (flag) {
      case '--standard-json': opts.standardJson = true; break;
      case '--version': opts.version = true; break;
      case '--base-path': opts.basePath = value(); break;
      case '--include-path': opts.includePaths.push(value()); break;
      case '--allow-paths': value(); break; // solc-js reads only through our callback
      case '-': break;
      default: fail(`unsupported option ${arg}; only --version and --standard-json are provided`);
    }
  }
  return opts;
}

function importCallback(roots) {
  return (importPath) => {
    const candidates = path.isAbsolute(importPath)
      ? [importPath]
      : [...roots.map((root) => path.resolve(root, importPath)), path.resolve(importPath)];
    for (const candidate of candidates) {
      try {
        return { contents: fs.readFileSync(candidate, 'utf8') };
      } catch (err) {
        if (err.code !== 'ENOENT' && err.code !== 'EISDIR') return { error: `${candidate}: ${err.message}` };
      }
    }
    return { error: `File not found: ${importPath} (searched ${candidates.join(', ')})` };
  };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const solc = require('solc');
  if (opts.version) {
    process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
    return;
  }
  if (!opts.standardJson) fail('use --standard-json (input on stdin) or --version');
  const input = fs.readFileSync(0, 'utf8');
  const roots = [opts.basePath, ...opts.includePaths].filter(Boolean);
  const output = solc.compile(input, { import: importCallback(roots) });
  process.stdout.write(output);
}

main();
