// wfform: the run form of a workflow, generated from its declared inputs
// (GET /api/workflows/{id} "inputs"), and reading it back into the run's
// "parameters". Names, descriptions and defaults come from the workflow's author:
// they go in through textContent and setAttribute only.

import { h } from './dom.js';

// Coze parameter types → the kind of control we draw. Unknown types get a text box
// and are sent as strings.
const KINDS = {
  string: 'text', number: 'number', float: 'number', integer: 'integer',
  boolean: 'boolean', object: 'json', array: 'json', list: 'json',
};

/** kindOf returns the control kind for a Coze parameter type. */
export function kindOf(type) { return KINDS[String(type || '').toLowerCase()] || 'text'; }

function i18nSpan(cls, key, t) {
  return h('span', { class: cls, text: t(key), attrs: { 'data-i18n': key } });
}

/**
 * buildField returns {el, input, error} for one input: a label (name, required mark,
 * type), the control, the author's description as help text and an error line.
 * t is the translation function; n makes the element ids unique.
 */
export function buildField(input, n, t) {
  const name = String(input.name || '');
  const type = String(input.type || 'string');
  const kind = kindOf(type);
  const def = typeof input.default === 'string' ? input.default : '';
  const id = 'wf-in-' + n;
  const helpId = id + '-help';
  const errId = id + '-error';
  const desc = typeof input.description === 'string' ? input.description.trim() : '';
  const describedBy = [desc ? helpId : '', errId].filter(Boolean).join(' ');
  const common = { id, class: 'wf-input', attrs: { name, 'data-kind': kind, 'data-type': type, 'aria-describedby': describedBy, 'aria-required': input.required ? 'true' : null } };
  let control;
  let box;
  if (kind === 'boolean') {
    control = h('input', { ...common, type: 'checkbox', checked: def.toLowerCase() === 'true' });
    box = h('span', { class: 'wf-check' }, control, i18nSpan('wf-check-label', 'wf.yes', t));
  } else if (kind === 'json') {
    const isArray = type.toLowerCase() !== 'object';
    control = h('textarea', { ...common, rows: 4, spellcheck: false, placeholder: def || (isArray ? '["…"]' : '{"key": "value"}'), attrs: { ...common.attrs, autocomplete: 'off' } });
    box = h('span', { class: 'field-box is-multiline' }, control);
  } else {
    control = h('input', {
      ...common,
      type: kind === 'text' ? 'text' : 'number',
      placeholder: def,
      autocomplete: 'off',
      step: kind === 'integer' ? '1' : kind === 'number' ? 'any' : undefined,
      inputMode: kind === 'integer' ? 'numeric' : kind === 'number' ? 'decimal' : undefined,
    });
    box = h('span', { class: 'field-box' }, control);
  }
  const error = h('p', { class: 'wf-field-error', id: errId, hidden: true, attrs: { 'aria-live': 'polite' } });
  const label = h('label', { class: 'wf-label', htmlFor: id },
    h('span', { class: 'wf-name', text: name }),
    input.required ? h('span', { class: 'wf-req', text: '*', title: t('wf.required'), attrs: { 'aria-hidden': 'true', 'data-i18n-title': 'wf.required' } }) : null,
    input.required ? h('span', { class: 'visually-hidden', text: t('wf.required'), attrs: { 'data-i18n': 'wf.required' } }) : null,
    h('span', { class: 'wf-type', text: type }));
  const el = h('div', { class: 'wf-field', dataset: { name } },
    label,
    desc ? h('p', { class: 'wf-help', id: helpId, text: desc }) : null,
    box,
    error);
  control.addEventListener('input', () => setFieldError({ input: control, error }, '', t));
  return { el, input: control, error, spec: { name, type, kind, required: Boolean(input.required) } };
}

/** setFieldError shows (key non-empty) or clears a field's inline error. */
export function setFieldError(field, key, t, vars) {
  if (!key) {
    field.error.hidden = true;
    field.error.textContent = '';
    field.input.removeAttribute('aria-invalid');
    return;
  }
  field.error.textContent = t(key, vars);
  field.error.hidden = false;
  field.input.setAttribute('aria-invalid', 'true');
}

/**
 * readField returns {value, skip} for a field or {error: key, vars} when the text is
 * not a valid value of its type. Empty optional fields are skipped so the
 * workflow's own default applies.
 */
export function readField(field) {
  const { kind, required, type } = field.spec;
  const el = field.input;
  if (kind === 'boolean') return { value: el.checked };
  if (kind === 'number' || kind === 'integer') {
    if (el.validity && el.validity.badInput) return { error: kind === 'integer' ? 'wf.err.integer' : 'wf.err.number' };
    const raw = el.value.trim();
    if (!raw) return required ? { error: 'wf.err.required' } : { skip: true };
    const n = Number(raw);
    if (!Number.isFinite(n)) return { error: 'wf.err.number' };
    if (kind === 'integer' && !Number.isInteger(n)) return { error: 'wf.err.integer' };
    return { value: n };
  }
  const raw = el.value;
  if (!raw.trim()) return required ? { error: 'wf.err.required' } : { skip: true };
  if (kind === 'json') {
    let v;
    try {
      v = JSON.parse(raw);
    } catch (err) {
      return { error: 'wf.err.json', vars: { detail: String((err && err.message) || '').slice(0, 160) } };
    }
    const wantArray = type.toLowerCase() !== 'object';
    if (wantArray ? !Array.isArray(v) : (v === null || typeof v !== 'object' || Array.isArray(v))) {
      return { error: wantArray ? 'wf.err.array' : 'wf.err.object' };
    }
    return { value: v };
  }
  return { value: raw };
}

/**
 * readValues validates every field, shows inline errors, and returns
 * {parameters, firstInvalid}; firstInvalid is the first control with an error.
 */
export function readValues(fields, t) {
  const parameters = {};
  let firstInvalid = null;
  for (const f of fields) {
    const r = readField(f);
    if (r.error) {
      setFieldError(f, r.error, t, r.vars);
      if (!firstInvalid) firstInvalid = f.input;
      continue;
    }
    setFieldError(f, '', t);
    if (!r.skip) parameters[f.spec.name] = r.value;
  }
  return { parameters, firstInvalid };
}
