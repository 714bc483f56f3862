// Pieces the pages share: error notices, the 403 message, inline field errors.

import {h} from './dom.js';

// A notice for a failed API call: a recruiter key on an admin page gets a clear explanation.
export function errorNotice(error) {
  if (error && error.status === 403) {
    return h('div', {class: 'notice error', role: 'alert'},
      h('strong', {}, 'This page needs an admin key. '),
      'You are signed in with a key that may not use it (a recruiter key can use the ',
      h('a', {href: '#/candidates'}, 'Candidates'), ' page). Sign out and sign in with an admin key to see it.');
  }
  return h('div', {class: 'notice error', role: 'alert'}, error ? error.message : 'Something failed.');
}

export function notice(text, kind = 'info') {
  return h('div', {class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status'}, text);
}

// A labelled form field with a slot for its error message, tied by aria-describedby.
export function field(name, label, input, hint) {
  const id = `f-${name}`;
  input.id = id;
  input.name = name;
  const error = h('p', {class: 'field-error', id: `${id}-error`, hidden: true});
  const describedBy = [`${id}-error`];
  let hintEl = null;
  if (hint) {
    hintEl = h('p', {class: 'hint', id: `${id}-hint`}, hint);
    describedBy.push(`${id}-hint`);
  }
  input.setAttribute('aria-describedby', describedBy.join(' '));
  return h('div', {class: 'field', 'data-field': name}, h('label', {for: id}, label), input, hintEl, error);
}

// Shows `message` next to the field named `name` in `form`; returns false when there is none.
export function showFieldError(form, name, message) {
  const wrap = form.querySelector(`[data-field="${CSS.escape(name)}"]`);
  if (!wrap) return false;
  const input = wrap.querySelector('input, select, textarea');
  const error = wrap.querySelector('.field-error');
  error.textContent = message;
  error.hidden = false;
  input.setAttribute('aria-invalid', 'true');
  input.focus();
  return true;
}

export function clearFieldErrors(form) {
  for (const e of form.querySelectorAll('.field-error')) {
    e.hidden = true;
    e.textContent = '';
  }
  for (const i of form.querySelectorAll('[aria-invalid]')) i.removeAttribute('aria-invalid');
}

// Runs `load` and renders its result with `render`, or the error, into `container`.
export async function loadInto(container, load, render) {
  try {
    const data = await load();
    container.replaceChildren(...[].concat(render(data)));
  } catch (e) {
    if (e.name === 'AbortError') return;
    container.replaceChildren(errorNotice(e));
  }
}
