#!/usr/bin/env node
/**
 * `npx leaseflow …`: run runner/cli.ts through tsx (plain node with tsx's import hook), with
 * the same argv, stdio and exit code. A terminal Ctrl-C reaches the child directly (same process
 * group), so SIGINT is not forwarded twice; SIGTERM and SIGHUP sent to this shim are forwarded.
 */
'use strict';
const { spawn } = require('node:child_process');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');
const { constants } = require('node:os');

const loader = pathToFileURL(require.resolve('tsx')).href;
const child = spawn(process.execPath, ['--import', loader, join(__dirname, 'cli.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });

process.on('SIGINT', () => { /* the child got it from the terminal */ });
for (const sig of ['SIGTERM', 'SIGHUP']) process.on(sig, () => { if (child.exitCode === null) child.kill(sig); });

child.on('error', (err) => {
  process.stderr.write(`leaseflow: cannot start node: ${err.message}\n`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  process.exit(code !== null ? code : 128 + (constants.signals[signal] || 0));
});
