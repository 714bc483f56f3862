// API keys (admin): the keys with their role and last use (never their secrets), a form that
// creates one and shows its secret once, and a revoke button per key (POST and DELETE /keys).

import {api} from '../api.js';
import {append, badge, formatTime, h, heading, table} from '../dom.js';
import {clearFieldErrors, errorNotice, field, loadInto, notice, showFieldError} from '../ui.js';

function keyRows(keys, reload, status) {
  return table(['Id', 'Name', 'Role', 'Created', 'Last used', 'State', ''], keys.map((k) => {
    const revoke = k.revokedAt ? null : h('button', {type: 'button', class: 'secondary',
      'aria-label': `Revoke key ${k.id}`}, 'Revoke');
    if (revoke) {
      revoke.addEventListener('click', async () => {
        if (!window.confirm(`Revoke key ${k.id}${k.name ? ` (${k.name})` : ''}? Requests with it will get 401.`)) return;
        try {
          await api(`/keys/${encodeURIComponent(k.id)}`, {method: 'DELETE'});
          status.replaceChildren(notice(`Key ${k.id} revoked.`));
          reload();
        } catch (e) {
          status.replaceChildren(errorNotice(e));
        }
      });
    }
    return h('tr', {'data-key': k.id}, h('td', {}, h('code', {}, k.id)), h('td', {}, k.name),
      h('td', {}, k.role), h('td', {}, formatTime(k.createdAt)), h('td', {}, formatTime(k.lastUsedAt)),
      h('td', {}, badge(k.revokedAt ? 'revoked' : 'active')), h('td', {}, revoke));
  }), 'API keys');
}

function createForm(reload, status) {
  const role = h('select', {}, h('option', {value: 'recruiter'}, 'recruiter'),
    h('option', {value: 'admin'}, 'admin'));
  const name = h('input', {type: 'text', autocomplete: 'off', maxlength: '200'});
  const created = h('div', {'aria-live': 'polite', id: 'created-key'});
  const form = h('form', {class: 'card', novalidate: true, 'aria-labelledby': 'create-key-title'},
    h('h2', {id: 'create-key-title'}, 'Create a key'),
    h('div', {class: 'grid'}, field('role', 'Role', role), field('name', 'Name', name, 'who or what uses it')),
    h('button', {type: 'submit'}, 'Create key'), created);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    created.replaceChildren();
    try {
      const out = await api('/keys', {method: 'POST', body: {role: role.value, name: name.value}});
      created.replaceChildren(notice(h('span', {},
        `Key ${out.id} (${out.role}): `, h('code', {class: 'secret'}, out.key),
        ' \u2014 copy it now: it is never shown again.')));
      name.value = '';
      reload();
    } catch (e) {
      if (!(e.field && showFieldError(form, e.field, e.message))) status.replaceChildren(errorNotice(e));
    }
  });
  return form;
}

export function renderKeys(main) {
  const controller = new AbortController();
  const list = h('div', {}, h('p', {}, 'Loading\u2026'));
  const status = h('div', {'aria-live': 'polite'});
  const reload = () => loadInto(list, () => api('/keys', {signal: controller.signal}),
    (out) => keyRows(out.keys, reload, status));
  append(main, [heading('API keys'), status, list, createForm(reload, status)]);
  reload();
  return () => controller.abort();
}
