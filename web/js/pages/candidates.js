// Candidates: the list with search and filters, live updates from GET /candidates/changes, the
// add form with the API's field errors shown inline, and one candidate with its email timeline.

import {api, query} from '../api.js';
import {append, badge, formatTime, h, heading, table} from '../dom.js';
import {follow} from '../sse.js';
import {clearFieldErrors, errorNotice, field, loadInto, notice, showFieldError} from '../ui.js';

const STATES = ['PENDING', 'SENDING', 'SENT', 'RETRY', 'FAILED', 'SUPPRESSED'];
// Delivery states that still change without a write to the candidate (no stream record).
const MOVING = new Set([undefined, 'PENDING', 'SENDING', 'RETRY']);
const PAGE = 20;

function matches(c, filter) {
  if (filter.q) {
    const q = filter.q.toLowerCase();
    if (!String(c.fullname || '').toLowerCase().includes(q) &&
        !String(c.email || '').toLowerCase().includes(q)) return false;
  }
  if (filter.assignment && c.assignment !== filter.assignment) return false;
  if (filter.state && (!c.delivery || c.delivery.state !== filter.state)) return false;
  return true;
}

function row(c) {
  const state = c.delivery ? c.delivery.state : null;
  return h('tr', {'data-id': c.id},
    h('td', {}, h('a', {href: `#/candidates/${encodeURIComponent(c.id)}`}, c.fullname || '(no name)')),
    h('td', {}, c.email || ''),
    h('td', {class: 'num'}, c.experience ?? ''),
    h('td', {}, c.assignment || '\u2014'),
    h('td', {}, badge(state || 'none', state)),
    h('td', {}, formatTime(c.submittedAt)));
}

function addForm(onAdded) {
  const inputs = {
    fullname: h('input', {type: 'text', autocomplete: 'off', required: true}),
    email: h('input', {type: 'email', autocomplete: 'off', required: true}),
    skills: h('input', {type: 'text', autocomplete: 'off'}),
    experience: h('input', {type: 'number', min: '0', max: '80', step: 'any', required: true, inputmode: 'decimal'}),
    recruiterEmail: h('input', {type: 'email', autocomplete: 'email'}),
  };
  const status = h('div', {'aria-live': 'polite'});
  const submit = h('button', {type: 'submit'}, 'Add candidate');
  const form = h('form', {class: 'card', novalidate: true, 'aria-labelledby': 'add-title'},
    h('h2', {id: 'add-title'}, 'Add a candidate'),
    h('div', {class: 'grid'},
      field('fullname', 'Full name', inputs.fullname),
      field('email', 'Email', inputs.email),
      field('skills', 'Skills', inputs.skills, 'e.g. java, go'),
      field('experience', 'Experience (years)', inputs.experience),
      field('recruiterEmail', 'Recruiter email (optional)', inputs.recruiterEmail)),
    submit, status);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    status.replaceChildren();
    const body = {fullname: inputs.fullname.value, email: inputs.email.value};
    if (inputs.skills.value) body.skills = inputs.skills.value;
    // The API decides what is valid; a number the input cannot parse is sent as text so that
    // its answer names the field.
    const exp = inputs.experience.value;
    body.experience = exp === '' ? null : Number(exp);
    if (inputs.recruiterEmail.value) body.recruiterEmail = inputs.recruiterEmail.value;
    submit.disabled = true;
    try {
      const out = await api('/candidates', {method: 'POST', body});
      form.reset();
      status.replaceChildren(notice(h('span', {}, `Added ${body.fullname}. `,
        h('a', {href: `#/candidates/${out.candidateId}`}, 'Open'))));
      onAdded(out.candidateId);
    } catch (e) {
      if (!(e.field && showFieldError(form, e.field, e.message))) status.replaceChildren(errorNotice(e));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

export function renderCandidates(main) {
  const controller = new AbortController();
  const filter = {q: '', assignment: '', state: ''};
  const tbody = h('tbody', {});
  const listArea = h('div', {});
  const more = h('button', {type: 'button', class: 'secondary', hidden: true}, 'Load more');
  const live = h('p', {class: 'live', 'aria-live': 'polite'}, 'Live updates: connecting\u2026');
  const count = h('p', {class: 'hint', 'aria-live': 'polite'});
  const rows = new Map();  // id -> {el, candidate}
  let cursor = null;
  let loadSeq = 0;

  const q = h('input', {type: 'search', autocomplete: 'off', placeholder: 'Name or email'});
  // Free text with suggestions from the rows seen: the catalogue (GET /assignments) is for
  // admin keys only, and a recruiter's page must not depend on it.
  const choices = h('datalist', {id: 'assignment-choices'});
  const assignment = h('input', {type: 'text', autocomplete: 'off', list: 'assignment-choices', placeholder: 'Any'});
  const seen = new Set();
  const state = h('select', {}, h('option', {value: ''}, 'Any'),
    STATES.map((s) => h('option', {value: s}, s)));
  const search = h('form', {class: 'filters', role: 'search'},
    field('q', 'Search', q), field('assignment', 'Assignment', assignment),
    field('state', 'Email state', state), choices, h('button', {type: 'submit'}, 'Search'));

  function put(c, {prepend = false} = {}) {
    const el = row(c);
    const known = rows.get(c.id);
    if (known) known.el.replaceWith(el);
    else if (prepend) tbody.prepend(el);
    else tbody.append(el);
    rows.set(c.id, {el, candidate: c});
    if (c.assignment && !seen.has(c.assignment)) {
      seen.add(c.assignment);
      choices.append(h('option', {value: c.assignment}));
    }
    return el;
  }

  function remove(id) {
    const known = rows.get(id);
    if (known) known.el.remove();
    rows.delete(id);
  }

  function showCount() {
    count.textContent = rows.size === 0 ? 'No candidates match.' : `${rows.size} shown`;
  }

  async function load(reset) {
    const seq = ++loadSeq;
    if (reset) cursor = null;
    try {
      const page = await api(`/candidates${query({limit: PAGE, cursor, ...filter})}`, {signal: controller.signal});
      if (seq !== loadSeq) return;
      if (reset) {
        tbody.replaceChildren();
        rows.clear();
        listArea.replaceChildren(table(['Name', 'Email', 'Experience', 'Assignment', 'Email state', 'Submitted'], []));
        listArea.querySelector('table').replaceChild(tbody, listArea.querySelector('tbody'));
      }
      for (const c of page.candidates) put(c);
      cursor = page.nextCursor;
      more.hidden = !cursor;
      showCount();
    } catch (e) {
      if (e.name !== 'AbortError') listArea.replaceChildren(errorNotice(e));
    }
  }

  async function refresh(id) {
    try {
      const c = await api(`/candidates/${encodeURIComponent(id)}`, {signal: controller.signal});
      if (!matches(c, filter)) remove(id);
      else if (rows.has(id)) put(c);
      else put(c, {prepend: true}).classList.add('new');
      showCount();
    } catch (e) {
      if (e.status === 404) remove(id);
    }
  }

  search.addEventListener('submit', (event) => {
    event.preventDefault();
    filter.q = q.value.trim();
    filter.assignment = assignment.value.trim();
    filter.state = state.value;
    load(true);
  });
  state.addEventListener('change', () => search.requestSubmit());
  more.addEventListener('click', () => load(false));

  // Changes to candidates arrive as they happen; a delivery's state changes without a change
  // record, so rows whose email is still on its way are re-read now and then.
  follow('/candidates/changes', {
    signal: controller.signal,
    onState: (s, detail) => {
      live.textContent = s === 'connected' ? 'Live updates: on'
        : s === 'reconnecting' ? 'Live updates: reconnecting\u2026'
          : `Live updates: unavailable (${detail})`;
      live.dataset.state = s;
    },
    onChange: (change) => {
      if (!change || !change.id) return;
      if (change.eventName === 'REMOVE' || !change.candidate) {
        remove(change.id);
        showCount();
        return;
      }
      const c = {...(rows.get(change.id)?.candidate || {}), ...change.candidate};
      if (matches(c, {...filter, assignment: '', state: ''})) refresh(change.id);
    },
  });
  const timer = setInterval(() => {
    let n = 0;
    for (const [id, {candidate}] of rows) {
      if (n >= 10) break;
      if (MOVING.has(candidate.delivery?.state) && Date.now() - candidate.submittedAt < 10 * 60000) {
        refresh(id);
        n++;
      }
    }
  }, 3000);

  append(main, [heading('Candidates'), search, live, count, listArea, more,
    addForm((id) => refresh(id))]);
  load(true);
  return () => {
    controller.abort();
    clearInterval(timer);
  };
}

function timelineItem(e) {
  const what = {
    QUEUED: `Queued${e.assignment ? ` with ${e.assignment}` : ''}`,
    REQUEUED: 'Queued again by hand',
    SENT: 'Sent',
    RETRY: 'Deferred: will retry',
    FAILED: 'Failed',
    SUPPRESSED: 'Suppressed: the address is on the suppression list',
    INTERRUPTED: 'Interrupted: the service stopped during the attempt',
    DOWNLOADED: `Downloaded ${e.assignment || ''}`,
  }[e.event] || e.event;
  return h('li', {class: `event event-${String(e.event).toLowerCase()}`},
    h('time', {datetime: new Date(e.at).toISOString()}, formatTime(e.at)), ' ',
    badge(e.event), ' ', what,
    e.reply ? h('div', {class: 'reply'}, h('code', {}, `${e.replyCode ? '' : ''}${e.reply}`)) : null,
    e.client ? h('div', {class: 'hint'}, `from ${e.client}`) : null);
}

export function renderCandidate(main, id) {
  const controller = new AbortController();
  const body = h('div', {}, h('p', {}, 'Loading\u2026'));
  append(main, [h('p', {}, h('a', {href: '#/candidates'}, '\u2190 All candidates')), heading('Candidate'), body]);
  const render = (c) => {
    main.querySelector('h1').textContent = c.fullname || 'Candidate';
    const d = c.delivery;
    const facts = [
      ['Email', c.email], ['Skills', c.skills || '\u2014'], ['Experience', c.experience],
      ['Recruiter', c.recruiterEmail || '\u2014'], ['Submitted', formatTime(c.submittedAt)],
      ['Updated', formatTime(c.updatedAt)], ['Assignment', c.assignment || '\u2014'],
      ['Email state', d ? d.state : 'not queued yet'], ['Attempts', d ? d.attempts : 0],
      ['Progress', c.progress || '\u2014'],
    ];
    return [
      h('dl', {class: 'facts'}, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v ?? ''))])),
      h('h2', {}, 'Email timeline'),
      c.timeline.length === 0 ? notice('Nothing yet: the email has not been queued.')
        : h('ol', {class: 'timeline'}, c.timeline.map(timelineItem)),
    ];
  };
  const load = () => loadInto(body, () => api(`/candidates/${encodeURIComponent(id)}`, {signal: controller.signal}), render);
  load();
  const timer = setInterval(load, 3000);
  return () => {
    controller.abort();
    clearInterval(timer);
  };
}
