// The web app in headless Chromium against the real binary: sign-in, adding a candidate and
// finding its email in the outbox, a validation error shown at its field, a candidate added
// through the API appearing live, a dead letter redriven, a key created and revoked, a
// recruiter key on an admin page,
// no console errors on any page, and a phone-width layout.

import assert from 'node:assert/strict';
import {readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {after, before, describe, test} from 'node:test';
import {ADMIN_KEY, FIXTURES, launchBrowser, openPage, signIn, startHirestream, waitFor} from './harness.js';

let hs;
let browser;
let sseServed = false;
const allowFile = () => join(hs.dir, 'allow');

// Console errors a page may show that say nothing about the app: none, except the browser's
// own line for the live-update stream while the server has no GET /candidates/changes yet.
function unexpected(page, {allowStatus = []} = {}) {
  return page.problems.filter((p) => {
    if (!sseServed && p.url.endsWith('/candidates/changes')) return false;
    return !allowStatus.some((s) => p.text.includes(`status of ${s}`));
  });
}

// Waits until the page shows no "Loading..." placeholder: its API answers have arrived. (The
// network never goes idle: the candidates page keeps its event stream open.)
async function settled(page) {
  await page.waitForFunction(() => !document.querySelector('main').textContent.includes('Loading\u2026'));
  await page.waitForTimeout(300);  // a request started by what just rendered gets to answer
}

async function postCandidate(fields) {
  const r = await hs.api('POST', '/candidates', {skills: 'go', experience: 3, ...fields});
  assert.equal(r.status, 201, r.text);
  return r.json.candidateId;
}

before(async () => {
  hs = await startHirestream({functions: (dir) => ({
    // Fails for a candidate whose email starts with "poison" until the allow file exists.
    screen: {handler: `exec:/usr/bin/python3 ${FIXTURES}/record_handler.py`, timeout: 10, memorySize: 256,
      environment: {POISON_PREFIX: 'poison', ALLOW_FILE: join(dir, 'allow')},
      events: [{stream: {batchSize: 10, startingPosition: 'TRIM_HORIZON', maximumRetryAttempts: 0,
        bisectBatchOnFunctionError: false, filterPatterns: [{eventName: ['INSERT']}],
        destinations: {onFailure: 'deadletters'}}}]},
  })});
  browser = await launchBrowser();
  const auth = await fetch(`${hs.url}/candidates/changes?after=0`, {
    headers: {'x-api-key': ADMIN_KEY}, signal: AbortSignal.timeout(2000),
  }).catch(() => null);
  sseServed = Boolean(auth && (auth.headers.get('content-type') || '').startsWith('text/event-stream'));
  if (auth && auth.body) await auth.body.cancel().catch(() => {});
});

after(async () => {
  if (browser) await browser.close();
  if (hs) await hs.stop();
});

describe('web app', () => {
  test('a wrong key is refused with a message; the admin key signs in', async () => {
    const page = await openPage(browser);
    await signIn(page, hs.url, 'hs_wrong-key-0123456789abcdefghij');
    await page.getByText('That API key was not accepted').waitFor();
    await signIn(page, hs.url);
    await page.getByRole('heading', {name: 'Candidates', level: 1}).waitFor();
    assert.ok(await page.getByRole('navigation', {name: 'Main'}).isVisible());
    assert.deepEqual(unexpected(page, {allowStatus: [401]}), []);
    // Signing out forgets the key.
    await page.getByRole('button', {name: 'Sign out'}).click();
    await page.getByRole('heading', {name: 'Sign in'}).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    await page.close();
  });

  test('a candidate added in the form gets its email, shown in the outbox', async () => {
    const page = await openPage(browser);
    await signIn(page, hs.url);
    const form = page.getByRole('form', {name: 'Add a candidate'});
    await form.getByLabel('Full name').fill('Grace Hopper');
    await form.getByLabel('Email', {exact: true}).fill('grace@example.com');
    await form.getByLabel('Skills').fill('cobol');
    await form.getByLabel('Experience (years)').fill('12');
    await form.getByRole('button', {name: 'Add candidate'}).click();
    await page.getByText('Added Grace Hopper.').waitFor();
    await page.getByRole('link', {name: 'Grace Hopper'}).waitFor();

    // Its detail page shows the email's timeline once sent.
    await page.getByRole('link', {name: 'Grace Hopper'}).click();
    await page.getByRole('heading', {name: 'Grace Hopper', level: 1}).waitFor();
    await page.locator('.timeline .event-sent').waitFor({timeout: 15000});
    assert.match(await page.locator('.timeline').innerText(), /QUEUED[\s\S]*assignment3[\s\S]*SENT/);

    await page.getByRole('link', {name: 'Outbox'}).click();
    const row = page.getByRole('row').filter({hasText: 'grace@example.com'});
    await row.waitFor();
    await row.getByRole('link', {name: 'Coding Round'}).click();
    await page.getByRole('heading', {name: 'Coding Round', level: 1}).waitFor();
    assert.match(await page.locator('dl.facts').innerText(), /grace@example\.com/);
    const attachment = page.getByRole('link', {name: 'assignment3.zip'});
    await attachment.waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), attachment.click()]);
    const path = await download.path();
    assert.equal(readFileSync(path).subarray(0, 2).toString('latin1'), 'PK');  // a zip
    // The HTML body renders in a sandboxed frame.
    const frame = page.frameLocator('iframe[title="HTML body"]');
    await frame.getByText('Good luck!').waitFor();
    assert.equal(await page.locator('iframe[title="HTML body"]').getAttribute('sandbox'), '');
    await page.getByRole('button', {name: 'Text'}).click();
    await page.locator('pre.mail-text').getByText('Good luck!').waitFor();
    assert.deepEqual(unexpected(page), []);
    await page.close();
  });

  test('the API\'s validation error is shown next to its field', async () => {
    const page = await openPage(browser);
    await signIn(page, hs.url);
    const form = page.getByRole('form', {name: 'Add a candidate'});
    await form.getByLabel('Full name').fill('Bad Email');
    await form.getByLabel('Email', {exact: true}).fill('not-an-email');
    await form.getByLabel('Experience (years)').fill('3');
    await form.getByRole('button', {name: 'Add candidate'}).click();
    const error = page.locator('#f-email-error');
    await error.waitFor({state: 'visible'});
    assert.ok((await error.innerText()).length > 0);
    const email = form.getByLabel('Email', {exact: true});
    assert.equal(await email.getAttribute('aria-invalid'), 'true');
    assert.ok((await email.getAttribute('aria-describedby')).includes('f-email-error'));
    assert.equal(await page.evaluate(() => document.activeElement.id), 'f-email');
    assert.deepEqual(unexpected(page, {allowStatus: [400]}), []);
    await page.close();
  });

  test('a candidate added through the API appears live', async (t) => {
    if (!sseServed) {
      t.skip('the server has no GET /candidates/changes event stream yet');
      return;
    }
    const page = await openPage(browser);
    await signIn(page, hs.url);
    await page.getByText('Live updates: on').waitFor();
    await postCandidate({fullname: 'Live Arrival', email: 'live@example.com'});
    await page.getByRole('link', {name: 'Live Arrival'}).waitFor({timeout: 10000});
    assert.deepEqual(unexpected(page), []);
    await page.close();
  });

  test('a dead letter is redriven from the functions page', async () => {
    const id = await postCandidate({fullname: 'Poison Pill', email: 'poison@example.com'});
    assert.ok(id);
    const letters = await waitFor(async () => {
      const r = await hs.api('GET', '/functions/screen/dead-letters');
      return r.json && r.json.deadLetters.length > 0 ? r.json.deadLetters : null;
    }, {message: 'a dead letter of function screen'});
    // The fix: the handler accepts the record from now on.
    writeFileSync(allowFile(), 'fixed\n');
    const page = await openPage(browser);
    await signIn(page, hs.url);
    await page.getByRole('link', {name: 'Functions'}).click();
    await page.getByRole('link', {name: 'screen'}).click();
    await page.getByRole('heading', {name: 'screen', level: 1}).waitFor();
    await page.locator('pre.log').getByText('START RequestId').first().waitFor();
    await page.getByRole('button', {name: `Redrive dead letter ${letters[0].id}`}).click();
    await page.getByText(`Dead letter ${letters[0].id} redriven`).waitFor();
    const after = await hs.api('GET', `/functions/screen/dead-letters/${letters[0].id}`);
    assert.equal(typeof after.json.redrivenAt, 'number');
    await page.getByRole('row').filter({hasText: String(letters[0].id)}).getByRole('cell', {name: 'no'}).waitFor({state: 'detached'});
    assert.deepEqual(unexpected(page), []);
    await page.close();
  });

  test('an admin creates a recruiter key, sees its secret once, and revokes it', async () => {
    const page = await openPage(browser);
    page.on('dialog', (dialog) => dialog.accept());
    await signIn(page, hs.url);
    await page.getByRole('link', {name: 'Keys'}).click();
    await page.getByRole('heading', {name: 'API keys', level: 1}).waitFor();
    await page.getByLabel('Role').selectOption('recruiter');
    await page.getByLabel('Name').fill('made in the browser');
    await page.getByRole('button', {name: 'Create key'}).click();
    const secret = await page.locator('#created-key code.secret').innerText();
    assert.match(secret, /^hs_/);
    const listed = await hs.api('GET', '/keys');
    const key = listed.json.keys.find((k) => k.name === 'made in the browser');
    assert.ok(key && key.role === 'recruiter' && !key.revokedAt, listed.text);
    assert.ok(!listed.text.includes(secret), 'the list never holds a secret');
    // The new key works for candidates...
    const before = await fetch(`${hs.url}/candidates`, {headers: {'x-api-key': secret}});
    assert.equal(before.status, 200);
    // ...until it is revoked from the page.
    await page.locator(`tr[data-key="${key.id}"]`).getByRole('button', {name: `Revoke key ${key.id}`}).click();
    await page.getByText(`Key ${key.id} revoked.`).waitFor();
    await page.locator(`tr[data-key="${key.id}"]`).getByText('revoked').waitFor();
    const afterRevoke = await fetch(`${hs.url}/candidates`, {headers: {'x-api-key': secret}});
    assert.equal(afterRevoke.status, 401);
    assert.deepEqual(unexpected(page), []);
    await page.close();
  });

  test('a recruiter key is told an admin page needs an admin key', async () => {
    const created = await hs.api('POST', '/keys', {role: 'recruiter', name: 'browser test'});
    assert.equal(created.status, 201, created.text);
    const page = await openPage(browser);
    await signIn(page, hs.url, created.json.key);
    await page.getByRole('heading', {name: 'Candidates', level: 1}).waitFor();
    await page.goto(`${hs.url}/#/functions`);
    await page.getByText('This page needs an admin key.').waitFor();
    assert.deepEqual(unexpected(page, {allowStatus: [403]}), []);
    await page.close();
  });

  test('no page logs a console error', async () => {
    const id = await postCandidate({fullname: 'Quiet Page', email: 'quiet@example.com'});
    const outbox = await waitFor(async () => {
      const r = await hs.api('GET', '/outbox');
      return r.json.messages.find((m) => m.to.includes('quiet@example.com'));
    }, {message: 'the email of quiet@example.com'});
    const page = await openPage(browser);
    await signIn(page, hs.url);
    const routes = {
      '#/candidates': 'Candidates', [`#/candidates/${id}`]: 'Quiet Page',
      '#/assignments': 'Assignments and rules', '#/functions': 'Functions',
      '#/functions/sendAssignment': 'sendAssignment', '#/outbox': 'Outbox',
      [`#/outbox/${encodeURIComponent(outbox.name)}`]: 'Coding Round', '#/keys': 'API keys',
    };
    for (const [hash, title] of Object.entries(routes)) {
      await page.goto(`${hs.url}/${hash}`);
      await page.getByRole('heading', {name: title, level: 1}).waitFor();
      await settled(page);
      assert.deepEqual(unexpected(page), [], hash);
    }
    // The rules box, by keyboard only.
    await page.goto(`${hs.url}/#/assignments`);
    await page.getByLabel('Experience (years)').focus();
    await page.keyboard.type('6');
    await page.keyboard.press('Enter');
    await page.locator('#evaluation').getByText('assignment2').waitFor();
    assert.match(await page.locator('#evaluation').innerText(), /rule 2/);
    // Search narrows the list.
    await page.goto(`${hs.url}/#/candidates`);
    await page.getByRole('searchbox', {name: 'Search'}).fill('QUIET');
    await page.getByRole('button', {name: 'Search'}).click();
    await waitFor(async () => (await page.locator('tbody tr').count()) === 1, {message: 'one row'});
    await page.getByRole('link', {name: 'Quiet Page'}).waitFor();
    assert.deepEqual(unexpected(page), []);
    await page.close();
  });

  test('at phone width nothing overflows sideways', async () => {
    const page = await openPage(browser);
    await page.setViewportSize({width: 375, height: 740});
    await signIn(page, hs.url);
    for (const hash of ['#/candidates', '#/functions', '#/outbox', '#/assignments', '#/keys']) {
      await page.goto(`${hs.url}/${hash}`);
      await page.locator('h1').waitFor();
      await settled(page);
      const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
      assert.ok(scroll <= width, `${hash}: page is ${scroll}px wide in a ${width}px window`);
    }
    assert.ok(await page.getByRole('link', {name: 'Outbox'}).isVisible());
    assert.deepEqual(unexpected(page), []);
    await page.close();
  });
});

