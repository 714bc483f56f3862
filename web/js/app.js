// The app shell: hash routing (#/candidates, #/candidates/<id>, #/assignments, #/functions,
// #/functions/<name>, #/outbox, #/outbox/<name>, #/keys, #/signin), the sign-in state and the
// navigation. Each page module renders into <main> and returns a cleanup function that stops
// its timers and streams when the page is left.

import {session, setUnauthenticatedHandler} from './api.js';
import {renderSignIn} from './pages/signin.js';
import {renderCandidates, renderCandidate} from './pages/candidates.js';
import {renderAssignments} from './pages/assignments.js';
import {renderFunctions, renderFunction} from './pages/functions.js';
import {renderOutbox, renderMessage} from './pages/outbox.js';
import {renderKeys} from './pages/keys.js';

const routes = [
  [/^\/candidates$/, renderCandidates],
  [/^\/candidates\/([^/]+)$/, renderCandidate],
  [/^\/assignments$/, renderAssignments],
  [/^\/functions$/, renderFunctions],
  [/^\/functions\/([^/]+)$/, renderFunction],
  [/^\/outbox$/, renderOutbox],
  [/^\/outbox\/([^/]+)$/, renderMessage],
  [/^\/keys$/, renderKeys],
];

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const signOut = document.getElementById('sign-out');
let cleanup = null;
let signInMessage = '';

function path() {
  const hash = location.hash.replace(/^#/, '');
  return hash.startsWith('/') ? hash : '/candidates';
}

function show() {
  if (cleanup) cleanup();
  cleanup = null;
  const signedIn = Boolean(session.key);
  nav.hidden = !signedIn;
  signOut.hidden = !signedIn;
  const p = path();
  for (const a of nav.querySelectorAll('a')) {
    const current = p === a.hash.slice(1) || p.startsWith(a.hash.slice(1) + '/');
    if (current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  main.replaceChildren();
  if (!signedIn || p === '/signin') {
    cleanup = renderSignIn(main, signInMessage, () => {
      signInMessage = '';
      if (path() === '/signin') location.hash = '#/candidates';
      else show();
    });
    signInMessage = '';
    focusHeading();
    return;
  }
  for (const [pattern, render] of routes) {
    const m = pattern.exec(p);
    if (m) {
      const params = m.slice(1).map(decodeURIComponent);
      cleanup = render(main, ...params) || null;
      focusHeading();
      return;
    }
  }
  location.replace('#/candidates');
}

function focusHeading() {
  const h1 = main.querySelector('h1');
  if (h1 && document.activeElement !== h1) h1.focus({preventScroll: false});
}

setUnauthenticatedHandler((message) => {
  signInMessage = message;
  if (path() !== '/signin') location.hash = '#/signin';
  else show();
});

signOut.addEventListener('click', () => {
  session.clear();
  signInMessage = 'Signed out.';
  location.hash = '#/signin';
});

window.addEventListener('hashchange', show);
show();
