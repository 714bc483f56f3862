// Functions: each stream function's status, iterator age and last error; one function with its
// live log tail (GET /functions/{name}/logs, polled with its cursor) and its dead letters with
// redrive.

import {api, query} from '../api.js';
import {append, badge, formatAge, formatTime, h, heading, table} from '../dom.js';
import {errorNotice, loadInto, notice} from '../ui.js';

export function renderFunctions(main) {
  const controller = new AbortController();
  const list = h('div', {}, h('p', {}, 'Loading\u2026'));
  append(main, [heading('Functions'), list]);
  const load = () => loadInto(list, () => api('/functions', {signal: controller.signal}), (out) =>
    table(['Function', 'State', 'Last result', 'Iterator age', 'Behind', 'Invocations', 'Errors',
      'Dead letters', 'Last error'], out.functions.map((f) => h('tr', {},
      h('td', {}, h('a', {href: `#/functions/${encodeURIComponent(f.function)}`}, f.function)),
      h('td', {}, badge(f.state)), h('td', {}, f.lastProcessingResult || '\u2014'),
      h('td', {class: 'num'}, formatAge(f.iteratorAgeMs)), h('td', {class: 'num'}, behind(f)),
      h('td', {class: 'num'}, f.invocations), h('td', {class: 'num'}, f.errors),
      h('td', {class: 'num'}, f.pendingDeadLetters),
      h('td', {}, f.lastError ? [formatTime(f.lastErrorAt), ': ', h('code', {}, f.lastError)] : '\u2014')))));
  load();
  const timer = setInterval(load, 5000);
  return () => {
    controller.abort();
    clearInterval(timer);
  };
}

// recordsBehind is counted up to a limit; past it the API says so.
function behind(f) {
  return f.recordsBehindCapped ? `more than ${f.recordsBehind.toLocaleString('en')}` : String(f.recordsBehind);
}

function logTail(name, signal) {
  const pre = h('pre', {class: 'log', tabindex: '0', 'aria-label': `${name} log`});
  const status = h('p', {class: 'hint', 'aria-live': 'polite'});
  const pause = h('button', {type: 'button', class: 'secondary', 'aria-pressed': 'false'}, 'Pause');
  let cursor = '';
  let paused = false;
  const maxLines = 1000;
  pause.addEventListener('click', () => {
    paused = !paused;
    pause.textContent = paused ? 'Resume' : 'Pause';
    pause.setAttribute('aria-pressed', String(paused));
  });
  async function poll() {
    if (paused || signal.aborted) return;
    try {
      const out = await api(`/functions/${encodeURIComponent(name)}/logs${query({cursor, limit: 200})}`, {signal});
      cursor = out.nextCursor;
      if (out.lines.length > 0) {
        const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
        pre.append(out.lines.join('\n') + '\n');
        pre.normalize();
        const text = pre.textContent.split('\n');
        if (text.length > maxLines) pre.textContent = text.slice(-maxLines).join('\n');
        if (atBottom) pre.scrollTop = pre.scrollHeight;
      }
      status.textContent = `Live: checked ${formatTime(Date.now())}`;
    } catch (e) {
      if (e.name !== 'AbortError') status.textContent = `Log unavailable: ${e.message}`;
    }
  }
  poll();
  const timer = setInterval(poll, 1500);
  signal.addEventListener('abort', () => clearInterval(timer));
  return h('section', {'aria-labelledby': 'log-title'},
    h('div', {class: 'row'}, h('h2', {id: 'log-title'}, 'Log'), pause), status, pre);
}

function deadLetters(name, signal) {
  const area = h('div', {});
  const status = h('div', {'aria-live': 'polite'});
  const load = () => loadInto(area, () => api(`/functions/${encodeURIComponent(name)}/dead-letters?limit=50`, {signal}),
    (out) => out.deadLetters.length === 0 ? notice('No dead letters.')
      : table(['Id', 'Created', 'Condition', 'Records', 'Redriven', ''], out.deadLetters.map((d) => {
        const redrive = h('button', {type: 'button', 'aria-label': `Redrive dead letter ${d.id}`}, 'Redrive');
        redrive.addEventListener('click', async () => {
          redrive.disabled = true;
          status.replaceChildren(notice(`Redriving dead letter ${d.id}\u2026`));
          try {
            await api(`/functions/${encodeURIComponent(name)}/dead-letters/${d.id}/redrive`, {method: 'POST', signal});
            status.replaceChildren(notice(`Dead letter ${d.id} redriven: the function handled its records.`));
          } catch (e) {
            status.replaceChildren(errorNotice(e));
          }
          load();
        });
        const ctx = d.invocationRecord?.requestContext || {};
        return h('tr', {'data-id': d.id}, h('td', {class: 'num'}, d.id), h('td', {}, formatTime(d.createdAt)),
          h('td', {}, d.condition, ctx.approximateInvokeCount ? ` (${ctx.approximateInvokeCount} tries)` : ''),
          h('td', {class: 'num'}, d.recordCount),
          h('td', {}, d.redrivenAt ? formatTime(d.redrivenAt) : 'no'),
          h('td', {}, d.redrivenAt ? '' : redrive));
      }), 'Dead letters'));
  load();
  return h('section', {'aria-labelledby': 'dl-title'}, h('h2', {id: 'dl-title'}, 'Dead letters'), status, area);
}

export function renderFunction(main, name) {
  const controller = new AbortController();
  const facts = h('div', {}, h('p', {}, 'Loading\u2026'));
  const toggleStatus = h('div', {'aria-live': 'polite'});
  append(main, [h('p', {}, h('a', {href: '#/functions'}, '\u2190 All functions')), heading(name), facts, toggleStatus]);
  let shown = false;
  const load = () => loadInto(facts, () => api(`/functions/${encodeURIComponent(name)}`, {signal: controller.signal}), (f) => {
    if (!shown) {
      shown = true;
      append(main, [logTail(name, controller.signal), deadLetters(name, controller.signal)]);
    }
    const enabled = f.state === 'Enabled';
    const toggle = h('button', {type: 'button', class: 'secondary'}, enabled ? 'Disable' : 'Enable');
    toggle.addEventListener('click', async () => {
      toggle.disabled = true;
      try {
        await api(`/functions/${encodeURIComponent(name)}`, {method: 'PATCH', body: {enabled: !enabled}});
        toggleStatus.replaceChildren(notice(`${name} ${enabled ? 'disabled' : 'enabled'}.`));
      } catch (e) {
        toggleStatus.replaceChildren(errorNotice(e));
      }
      load();
    });
    const rows = [
      ['State', badge(f.state)], ['Handler', h('code', {}, f.handler)], ['Last result', f.lastProcessingResult || '\u2014'],
      ['Iterator age', formatAge(f.iteratorAgeMs)], ['Records behind', behind(f)],
      ['Invocations', f.invocations], ['Errors', f.errors], ['Records processed', f.recordsProcessed],
      ['Dead letters pending', f.pendingDeadLetters],
      ['Last error', f.lastError ? [formatTime(f.lastErrorAt), ': ', h('code', {}, f.lastError)] : '\u2014'],
    ];
    return [h('dl', {class: 'facts'}, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])), toggle];
  });
  load();
  const timer = setInterval(load, 5000);
  return () => {
    controller.abort();
    clearInterval(timer);
  };
}
