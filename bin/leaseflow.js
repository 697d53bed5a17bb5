#!/usr/bin/env node
/**
 * The `leaseflow` command. In the installed package it runs the compiled CLI (dist/) in this very
 * process, so signals sent to `leaseflow runner` reach the runner itself. In a source checkout
 * (runner/cli.ts beside this folder) it runs the TypeScript through tsx's require hook instead,
 * still in-process, so a stale dist/ is never used there.
 */
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const source = join(__dirname, '..', 'runner', 'cli.ts');
let cli;
if (existsSync(source)) {
  require('tsx/cjs/api').register();
  cli = require(source);
} else {
  cli = require('../dist/runner/cli.js');
}
cli.main(process.argv.slice(2));
