// Sign in with an API key: the key is checked against the API before it is kept.

import {api, session} from '../api.js';
import {append, h, heading} from '../dom.js';
import {field, notice} from '../ui.js';

export function renderSignIn(main, message, done) {
  const input = h('input', {type: 'password', autocomplete: 'off', required: true, spellcheck: 'false'});
  const status = h('div', {'aria-live': 'polite'});
  const button = h('button', {type: 'submit'}, 'Sign in');
  const form = h('form', {class: 'card narrow', novalidate: true},
    field('apiKey', 'API key', input, 'An admin key, or a recruiter key (hs_...). It is kept in this tab only.'),
    button);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (!key) {
      status.replaceChildren(notice('Enter an API key.', 'error'));
      input.focus();
      return;
    }
    button.disabled = true;
    try {
      await api('/candidates?limit=1', {key});
      session.set(key);
      done();
    } catch (e) {
      const text = e.status === 401 ? 'That API key was not accepted: it is unknown or revoked.'
        : e.status === 429 ? `Too many wrong keys from this address: ${e.message}`
          : `Could not sign in: ${e.message}`;
      status.replaceChildren(notice(text, 'error'));
      input.focus();
    } finally {
      button.disabled = false;
    }
  });
  append(main, [heading('Sign in'), message ? notice(message, 'error') : null, status, form]);
  return null;
}
