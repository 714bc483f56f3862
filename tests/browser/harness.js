// The real hirestream binary on a free loopback port with a temporary data folder, outbox and
// config, and headless Chromium (Debian's /usr/bin/chromium, never a downloaded browser) with
// a fresh profile. What tests/e2e/harness.py does for the Python tests.

import {spawn} from 'node:child_process';
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';
import {chromium} from 'playwright-core';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BINARY = process.env.HIRESTREAM_BIN || join(REPO, 'build', 'hirestream');
export const CHROMIUM = process.env.HIRESTREAM_CHROMIUM || '/usr/bin/chromium';
export const ADMIN_KEY = 'hs_browser-admin-key-0123456789abcdef';
export const FIXTURES = join(REPO, 'tests', 'e2e', 'fixtures');

// The config: YAML is a superset of JSON, so the test writes JSON. `functions` are added to
// sendAssignment.
function config(dir, functions) {
  const assignment = (n, title) => ({file: join(REPO, 'assignments', `${n}.zip`), title});
  return {
    server: {listen: '127.0.0.1:0'},
    data: {dir: join(dir, 'data')},
    tables: {candidates: {shards: 1}},
    functions: {
      sendAssignment: {handler: 'builtin:assignment', events: [{stream: {
        batchSize: 100, startingPosition: 'TRIM_HORIZON', filterPatterns: [{eventName: ['INSERT']}],
        destinations: {onFailure: 'deadletters'}}}]},
      ...functions,
    },
    mail: {smtpUrl: '', outboxDir: join(dir, 'outbox'), retry: {initialBackoffMs: 100, maxBackoffMs: 500}},
    assignments: {
      assignment1: assignment('assignment1', 'Assignment 1: a command-line word counter'),
      assignment2: assignment('assignment2', 'Assignment 2: a rate-limited HTTP client'),
      assignment3: assignment('assignment3', 'Assignment 3: a replicated key-value store'),
    },
    rules: [
      {assignment: 'assignment1', when: {experience: {gte: 0, lte: 5}}},
      {assignment: 'assignment2', when: {experience: {gt: 5, lte: 8}}},
      {assignment: 'assignment3', when: {experience: {gt: 8}}},
    ],
    defaultAssignment: 'assignment3',
  };
}

// Starts `hirestream serve`; resolves once it printed its address. `functions(dir)` returns the
// functions to add, given the server's temporary folder.
export async function startHirestream({functions = () => ({})} = {}) {
  if (!existsSync(BINARY)) throw new Error(`no binary at ${BINARY}: build first (scripts/build.sh)`);
  const dir = mkdtempSync(join(tmpdir(), 'hirestream-browser-'));
  const configPath = join(dir, 'hirestream.yaml');
  writeFileSync(configPath, JSON.stringify(config(dir, functions(dir)), null, 2));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HIRESTREAM_')));
  Object.assign(env, {HIRESTREAM_ADMIN_KEY: ADMIN_KEY, HIRESTREAM_LISTEN: '127.0.0.1:0', HIRESTREAM_LOG_LEVEL: 'info'});
  const proc = spawn(BINARY, ['serve', '--config', configPath], {env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe']});
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr = (stderr + d).slice(-20000); });
  const url = await new Promise((resolveUrl, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`hirestream did not start in 15 s:\n${out}\n${stderr}`)), 15000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /^api: (\S+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]);
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`hirestream exited with ${code}:\n${out}\n${stderr}`));
    });
  });
  const server = {
    url, dir, proc,
    get stderr() { return stderr; },
    async api(method, path, body, key = ADMIN_KEY) {
      const init = {method, headers: {'x-api-key': key}};
      if (body !== undefined) {
        init.body = JSON.stringify(body);
        init.headers['content-type'] = 'application/json';
      }
      const r = await fetch(url + path, init);
      const text = await r.text();
      let json = null;
      try { json = JSON.parse(text); } catch { /* not JSON */ }
      return {status: r.status, json, text, headers: r.headers};
    },
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 10000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, {recursive: true, force: true});
    },
  };
  return server;
}

export async function launchBrowser() {
  const profile = mkdtempSync(join(tmpdir(), 'hirestream-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
    viewport: {width: 1200, height: 900},
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, {recursive: true, force: true});
    },
  };
}

// A new page that records console errors and uncaught exceptions. `expected(msg)` may excuse a
// console error the scenario causes on purpose (e.g. the 400 of a validation error).
export async function openPage(browser) {
  const page = await browser.context.newPage();
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push({text: m.text(), url: m.location().url});
  });
  page.on('pageerror', (e) => problems.push({text: `uncaught: ${e.message}`, url: ''}));
  page.problems = problems;
  return page;
}

export async function signIn(page, url, key = ADMIN_KEY) {
  await page.goto(`${url}/#/signin`);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', {name: 'Sign in'}).click();
}

export async function waitFor(predicate, {timeout = 15000, interval = 100, message = 'condition'} = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await predicate();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${message}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}
