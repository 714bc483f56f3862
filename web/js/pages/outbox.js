// The outbox folder, as MailHog shows a mailbox: the list (to, subject, date) and a message
// with its headers, its text and HTML bodies (HTML in a sandboxed iframe: no script, no
// requests) and its attachments, downloadable. The MIME parsing happens here (mime.js): the
// API serves each file as written.

import {api, query} from '../api.js';
import {append, formatBytes, h, heading, table} from '../dom.js';
import {binaryToBytes, bytesToBinary, decodeHeaderValue, headerOf, parseMessage} from '../mime.js';
import {loadInto, notice} from '../ui.js';

function dateOf(text) {
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? text : d.toLocaleString();
}

export function renderOutbox(main) {
  const controller = new AbortController();
  const list = h('div', {}, h('p', {}, 'Loading\u2026'));
  const more = h('button', {type: 'button', class: 'secondary', hidden: true}, 'Load more');
  append(main, [heading('Outbox'), list, more]);
  let cursor = null;
  const rows = [];
  const render = (out) => {
    if (out.transport !== 'outbox') {
      return notice('Mail goes to an SMTP relay, so there is no outbox folder to show.');
    }
    for (const m of out.messages) {
      rows.push(h('tr', {}, h('td', {}, dateOf(m.date)), h('td', {}, decodeHeaderValue(m.to)),
        h('td', {}, h('a', {href: `#/outbox/${encodeURIComponent(m.name)}`}, decodeHeaderValue(m.subject) || '(no subject)')),
        h('td', {class: 'num'}, formatBytes(m.size))));
    }
    cursor = out.nextCursor;
    more.hidden = !cursor;
    return rows.length === 0 ? notice('The outbox is empty.') : table(['Date', 'To', 'Subject', 'Size'], rows);
  };
  const load = () => loadInto(list, () => api(`/outbox${query({limit: 50, cursor})}`, {signal: controller.signal}), render);
  more.addEventListener('click', load);
  load();
  return () => controller.abort();
}

// A download link for bytes; the URL is kept to be revoked when the page is left.
function download(bytes, type, filename, text, urls) {
  const url = URL.createObjectURL(new Blob([bytes], {type: type || 'application/octet-stream'}));
  urls.push(url);
  return h('a', {href: url, download: filename}, text);
}

function attachmentLink(a, urls) {
  return h('li', {}, download(a.bytes, a.contentType, a.filename, a.filename, urls),
    ` (${a.contentType}, ${formatBytes(a.bytes.length)})`);
}

export function renderMessage(main, name) {
  const controller = new AbortController();
  const urls = [];
  const body = h('div', {}, h('p', {}, 'Loading\u2026'));
  append(main, [h('p', {}, h('a', {href: '#/outbox'}, '\u2190 Outbox')), heading('Message'), body]);
  loadInto(body, async () => {
    const response = await api(`/outbox/${encodeURIComponent(name)}`, {signal: controller.signal, raw: true});
    return bytesToBinary(new Uint8Array(await response.arrayBuffer()));
  }, (raw) => {
    const m = parseMessage(raw);
    main.querySelector('h1').textContent = headerOf(m, 'subject') || '(no subject)';
    const shown = ['from', 'to', 'reply-to', 'subject', 'date', 'message-id'];
    const views = [];
    if (m.html !== null) {
      const frame = h('iframe', {title: 'HTML body', sandbox: '', referrerpolicy: 'no-referrer'});
      frame.srcdoc = m.html;
      views.push(['HTML', frame]);
    }
    if (m.text !== null) views.push(['Text', h('pre', {class: 'mail-text', tabindex: '0'}, m.text)]);
    views.push(['Source', h('pre', {class: 'mail-text', tabindex: '0'}, raw.length > 200000 ? raw.slice(0, 200000) + '\n[\u2026]' : raw)]);
    const panel = h('div', {class: 'panel'});
    const tabs = h('div', {class: 'tabs', role: 'group', 'aria-label': 'Show'});
    const select = (i) => {
      panel.replaceChildren(views[i][1]);
      for (const [j, b] of [...tabs.children].entries()) b.setAttribute('aria-pressed', String(i === j));
    };
    views.forEach(([label], i) => tabs.append(h('button', {type: 'button', class: 'secondary', onclick: () => select(i)}, label)));
    select(0);
    return [
      h('dl', {class: 'facts'}, shown.filter((k) => headerOf(m, k)).map((k) =>
        [h('dt', {}, k.replace(/(^|-)\w/g, (c) => c.toUpperCase())), h('dd', {}, headerOf(m, k))])),
      m.attachments.length > 0 ? h('section', {'aria-labelledby': 'att-title'}, h('h2', {id: 'att-title'}, 'Attachments'),
        h('ul', {class: 'attachments'}, m.attachments.map((a) => attachmentLink(a, urls)))) : null,
      h('h2', {}, 'Body'), tabs, panel,
      h('p', {}, download(binaryToBytes(raw), 'message/rfc822', name, 'Download the .eml file', urls)),
    ].filter(Boolean);
  });
  return () => {
    controller.abort();
    for (const u of urls) URL.revokeObjectURL(u);
  };
}
