// Assignments and rules: the zips, the rules in the order they are tried, and which assignment
// a given experience and skills would get (POST /rules/evaluate).

import {api} from '../api.js';
import {append, formatBytes, h, heading, table} from '../dom.js';
import {clearFieldErrors, errorNotice, field, loadInto, notice, showFieldError} from '../ui.js';

function describeRange(r) {
  const parts = [];
  if (r.gte !== undefined) parts.push(`${r.gte} \u2264`);
  else if (r.gt !== undefined) parts.push(`${r.gt} <`);
  parts.push('experience');
  if (r.lte !== undefined) parts.push(`\u2264 ${r.lte}`);
  else if (r.lt !== undefined) parts.push(`< ${r.lt}`);
  return parts.length === 1 ? 'any experience' : parts.join(' ');
}

export function describeRule(rule) {
  let text = describeRange(rule.when.experience || {});
  if (rule.when.skills) text += ` and skills contain ${rule.when.skills.contains.map((w) => `"${w}"`).join(' or ')}`;
  return text;
}

function evaluateForm() {
  const experience = h('input', {type: 'number', min: '0', step: 'any', required: true, inputmode: 'decimal'});
  const skills = h('input', {type: 'text', autocomplete: 'off'});
  const result = h('div', {'aria-live': 'polite', id: 'evaluation'});
  const form = h('form', {class: 'card', novalidate: true, 'aria-labelledby': 'eval-title'},
    h('h2', {id: 'eval-title'}, 'Which assignment would a candidate get?'),
    h('div', {class: 'grid'}, field('experience', 'Experience (years)', experience),
      field('skills', 'Skills', skills, 'e.g. java, go')),
    h('button', {type: 'submit'}, 'Evaluate'), result);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    result.replaceChildren();
    const body = {experience: experience.value === '' ? null : Number(experience.value)};
    if (experience.value === '') delete body.experience;
    if (skills.value) body.skills = skills.value;
    try {
      const out = await api('/rules/evaluate', {method: 'POST', body});
      result.replaceChildren(notice(h('span', {},
        h('strong', {}, out.assignment), out.rule
          ? ` \u2014 rule ${out.rule.index + 1}: ${describeRule(out.rule)}`
          : ' \u2014 the default: no rule matched')));
    } catch (e) {
      if (!(e.field && showFieldError(form, e.field, e.message))) result.replaceChildren(errorNotice(e));
    }
  });
  return form;
}

export function renderAssignments(main) {
  const controller = new AbortController();
  const zips = h('div', {}, h('p', {}, 'Loading\u2026'));
  const rules = h('div', {});
  append(main, [heading('Assignments and rules'), h('h2', {}, 'Assignments'), zips,
    h('h2', {}, 'Rules, in the order they are tried'), rules, evaluateForm()]);
  loadInto(zips, () => api('/assignments', {signal: controller.signal}), (out) =>
    table(['Name', 'Title', 'Delivery', 'Size', 'Source', 'SHA-256'], out.assignments.map((a) =>
      h('tr', {}, h('td', {}, a.name), h('td', {}, a.title || ''), h('td', {}, a.delivery),
        h('td', {class: 'num'}, formatBytes(a.size)), h('td', {}, a.source),
        h('td', {}, h('code', {title: a.sha256}, String(a.sha256).slice(0, 12)))))));
  loadInto(rules, () => api('/rules', {signal: controller.signal}), (out) => [
    h('ol', {class: 'rules'}, out.rules.map((r) =>
      h('li', {}, describeRule(r), ' \u2192 ', h('strong', {}, r.assignment)))),
    h('p', {}, 'Otherwise (no rule matched): ', h('strong', {}, out.defaultAssignment)),
  ]);
  return () => controller.abort();
}
