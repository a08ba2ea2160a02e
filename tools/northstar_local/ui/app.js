// northstar-local dashboard: a read-only single-page view over /api/runs, /api/runs/<id> and
// /api/sessions. Every stored value is attacker-controlled text, so the DOM is built with
// createElement/textContent only (stored text is never parsed as HTML), and links only ever point
// inside this page.
'use strict';

(function () {
  const app = document.getElementById('app');
  const refreshState = document.getElementById('refresh-state');
  let timer = null;
  let generation = 0; // bumps on every navigation; stale fetches are dropped

  // ---- DOM helpers -----------------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === 'class') node.className = value;
      else if (name === 'text') node.textContent = String(value);
      else if (name === 'onclick') node.addEventListener('click', value);
      else if (name === 'style') Object.assign(node.style, value);
      else node.setAttribute(name, String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function fmtMs(ms) {
    if (ms === null || ms === undefined) return '-';
    if (ms >= 1000) return (ms / 1000).toFixed(2) + ' s';
    return ms.toFixed(ms < 10 ? 2 : 1) + ' ms';
  }
  function fmtInt(n) {
    return n === null || n === undefined ? '-' : Math.round(n).toLocaleString('en-US');
  }
  function fmtCost(c) {
    return c === null || c === undefined ? '-' : '$' + c.toFixed(6);
  }
  function fmtTime(iso) {
    if (!iso) return '-';
    const d = new Date(iso);
    if (isNaN(d.getTime())) return iso;
    return d.toISOString().replace('T', ' ').replace('Z', ' UTC');
  }
  function statusBadge(status) {
    const known = ['ok', 'error', 'running'].includes(status) ? status : 'running';
    return el('span', { class: 'badge status-' + known, 'data-testid': 'status', text: status });
  }
  function jsonBlock(value) {
    return el('pre', { class: 'json', text: JSON.stringify(value, null, 2) });
  }
  // A tool's arguments are often a JSON string inside JSON (OpenAI's function.arguments): show it
  // parsed and formatted when it parses.
  function formatted(value) {
    if (typeof value === 'string') {
      try {
        const parsed = JSON.parse(value);
        if (parsed !== null && typeof parsed === 'object') return jsonBlock(parsed);
      } catch (e) { /* plain text */ }
      return el('div', { class: 'text', text: value });
    }
    if (value !== null && typeof value === 'object') {
      if (typeof value.arguments === 'string') {
        try {
          const copy = Object.assign({}, value);
          copy.arguments = JSON.parse(value.arguments);
          return jsonBlock(copy);
        } catch (e) { /* keep the string */ }
      }
      return jsonBlock(value);
    }
    return el('div', { class: 'text', text: JSON.stringify(value) });
  }

  async function getJson(url) {
    const response = await fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store' });
    const body = await response.json();
    if (!response.ok) throw new Error(body && body.error ? body.error : 'HTTP ' + response.status);
    return body;
  }

  function schedule(fn, ms) {
    if (timer) clearTimeout(timer);
    timer = setTimeout(fn, ms);
  }

  function showError(err) {
    clear(app);
    app.append(el('p', { class: 'error-text', 'data-testid': 'load-error', text: 'Cannot load: ' + err.message }));
  }

  // ---- routing ---------------------------------------------------------------------------------

  function parseHash() {
    const hash = location.hash.replace(/^#/, '') || '/';
    const [path, query] = hash.split('?');
    return { path, params: new URLSearchParams(query || '') };
  }

  function route() {
    generation += 1;
    if (timer) clearTimeout(timer);
    refreshState.textContent = '';
    const { path, params } = parseHash();
    const runMatch = path.match(/^\/run\/([0-9a-fA-F-]{36})$/);
    if (runMatch) return showRun(runMatch[1], generation);
    if (path === '/sessions') return showSessions(generation);
    return showRuns(params, generation);
  }

  // ---- runs list -------------------------------------------------------------------------------

  const PAGE = 25;

  function runsUrl(params) {
    const q = new URLSearchParams();
    for (const k of ['name', 'status', 'tag', 'session', 'since', 'until']) {
      const v = params.get(k);
      if (v) q.set(k, k === 'since' || k === 'until' ? toIso(v) : v);
    }
    q.set('limit', String(PAGE));
    q.set('offset', params.get('offset') || '0');
    return '/api/runs?' + q.toString();
  }
  function toIso(local) {
    const d = new Date(local);
    return isNaN(d.getTime()) ? local : d.toISOString();
  }

  function filterForm(params) {
    const input = (name, label, type, placeholder) =>
      el('label', {}, label, el('input', { name, type: type || 'text', value: params.get(name) || '', placeholder: placeholder || '' }));
    const status = el('select', { name: 'status' });
    for (const s of ['', 'running', 'ok', 'error']) {
      const option = el('option', { value: s, text: s || 'any' });
      if ((params.get('status') || '') === s) option.selected = true;
      status.append(option);
    }
    const form = el('form', { class: 'filters', 'data-testid': 'filters' },
      input('name', 'name contains'), el('label', {}, 'status', status), input('tag', 'tag'),
      input('since', 'started after', 'datetime-local'), input('until', 'started before', 'datetime-local'),
      el('button', { type: 'submit', text: 'Filter' }),
      el('button', { type: 'button', text: 'Clear', onclick: () => { location.hash = '#/'; } }));
    if (params.get('session')) form.append(el('span', { class: 'muted', text: 'session ' + params.get('session') }));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const q = new URLSearchParams();
      for (const [k, v] of new FormData(form).entries()) if (v) q.set(k, v);
      if (params.get('session')) q.set('session', params.get('session'));
      location.hash = '#/?' + q.toString();
    });
    return form;
  }

  async function showRuns(params, gen) {
    let data;
    try {
      data = await getJson(runsUrl(params));
    } catch (err) {
      if (gen === generation) showError(err);
      return;
    }
    if (gen !== generation) return;
    const focused = document.activeElement && document.activeElement.name;
    clear(app);
    app.append(el('h1', { text: 'Runs' }), filterForm(params));
    const table = el('table', { 'data-testid': 'runs-table' },
      el('thead', {}, el('tr', {},
        el('th', { text: 'Started' }), el('th', { text: 'Name' }), el('th', { text: 'Status' }),
        el('th', { class: 'num', text: 'Latency' }), el('th', { class: 'num', text: 'Tokens in' }),
        el('th', { class: 'num', text: 'Tokens out' }), el('th', { class: 'num', text: 'Cost' }),
        el('th', { text: 'Tags' }), el('th', { text: 'Error' }))));
    const body = el('tbody');
    for (const run of data.runs) {
      const open = () => { location.hash = '#/run/' + run.id; };
      body.append(el('tr', { class: 'clickable', 'data-testid': 'run-row', 'data-run-id': run.id, onclick: open },
        el('td', { class: 'time', text: fmtTime(run.started_at) }),
        el('td', {}, el('a', { href: '#/run/' + run.id, 'data-testid': 'run-name', text: run.name })),
        el('td', {}, statusBadge(run.status)),
        el('td', { class: 'num', text: fmtMs(run.latency_ms) }),
        el('td', { class: 'num', 'data-testid': 'tokens-in', text: fmtInt(run.input_tokens) }),
        el('td', { class: 'num', 'data-testid': 'tokens-out', text: fmtInt(run.output_tokens) }),
        el('td', { class: 'num', 'data-testid': 'cost', text: fmtCost(run.cost_usd) }),
        el('td', {}, ...run.tags.map((t) => el('span', { class: 'tag', text: t }))),
        el('td', { class: 'error-text', text: run.error ? (run.error.type || '') + ': ' + (run.error.message || '') : '' })));
    }
    table.append(body);
    app.append(table);
    if (data.runs.length === 0) app.append(el('p', { class: 'muted', 'data-testid': 'no-runs', text: 'No runs match.' }));
    const offset = data.offset;
    const pager = el('div', { class: 'pager', 'data-testid': 'pager' },
      el('span', { text: data.total === 0 ? '0 runs' : (offset + 1) + '-' + Math.min(offset + PAGE, data.total) + ' of ' + data.total }));
    const go = (next) => () => { const q = new URLSearchParams(params); q.set('offset', String(next)); location.hash = '#/?' + q.toString(); };
    if (offset > 0) pager.append(el('button', { type: 'button', text: 'Newer', onclick: go(Math.max(0, offset - PAGE)) }));
    if (offset + PAGE < data.total) pager.append(el('button', { type: 'button', 'data-testid': 'older', text: 'Older', onclick: go(offset + PAGE) }));
    app.append(pager);
    if (focused) {
      const again = app.querySelector('[name="' + focused + '"]');
      if (again) again.focus();
    }
    // Live refresh: quick while runs are running, slow otherwise (new runs still appear).
    const every = data.running > 0 ? 2000 : 5000;
    refreshState.textContent = 'auto-refresh every ' + every / 1000 + ' s';
    schedule(() => { if (gen === generation && !app.contains(document.activeElement)) showRuns(params, gen); else if (gen === generation) schedule(() => showRuns(params, gen), every); }, every);
  }

  // ---- run page --------------------------------------------------------------------------------

  const ROLE = {
    system_message: ['system', 'system'],
    user_input: ['user', 'user'],
    assistant_message: ['assistant', 'assistant'],
    reasoning: ['reasoning', 'reasoning'],
    final_response: ['final response', 'final'],
    tool_arguments: ['tool arguments', 'tool-arguments'],
    tool_result: ['tool result', 'tool-result'],
  };

  function messageContent(event) {
    const c = event.content;
    // OpenAI-shaped message objects: show their text, keep the rest as JSON.
    if (c !== null && typeof c === 'object' && !Array.isArray(c) && typeof c.content === 'string' && Object.keys(c).length <= 2) {
      return el('div', { class: 'text', text: c.content });
    }
    if (c === null) return el('div', { class: 'text muted', text: '(null)' });
    return formatted(c);
  }

  function renderEvent(event) {
    const [label, cls] = ROLE[event.type] || ['event', 'event'];
    const head = el('div', { class: 'role' }, label + ' \u00b7 ' + fmtMs(event.offset_ms));
    const attrs = event.attributes && typeof event.attributes === 'object' ? event.attributes : {};
    if (attrs.name) head.append(' \u00b7 ' + attrs.name);
    if (attrs.tool_call_id) head.append(' \u00b7 ' + attrs.tool_call_id);
    let body;
    if (event.category === 'event' && event.content && typeof event.content === 'object' && 'name' in event.content) {
      head.append(' \u00b7 ' + String(event.content.name));
      body = formatted(event.content.data === undefined ? null : event.content.data);
    } else {
      body = messageContent(event);
    }
    return el('div', { class: 'msg role-' + cls, 'data-testid': 'event', 'data-type': event.type }, head, body);
  }

  function renderEvents(events, title) {
    const box = el('div', {});
    const metrics = events.filter((e) => e.category === 'metric');
    const others = events.filter((e) => e.category !== 'metric');
    box.append(el('h2', { text: title + ' (' + others.length + ')' }));
    if (others.length === 0) box.append(el('p', { class: 'muted', text: 'none' }));
    for (const event of others) box.append(renderEvent(event));
    if (metrics.length > 0) {
      box.append(el('h2', { text: 'Metrics' }));
      const t = el('table', { 'data-testid': 'metrics' }, el('thead', {}, el('tr', {}, el('th', { text: 'name' }), el('th', { class: 'num', text: 'value' }), el('th', { text: 'at' }))));
      const tb = el('tbody');
      for (const m of metrics) {
        const c = m.content && typeof m.content === 'object' ? m.content : {};
        tb.append(el('tr', { 'data-testid': 'metric' }, el('td', { text: String(c.name) }), el('td', { class: 'num', text: JSON.stringify(c.value) }), el('td', { text: fmtMs(m.offset_ms) })));
      }
      t.append(tb);
      box.append(t);
    }
    return box;
  }

  function errorBox(error, detail) {
    if (!error) return document.createTextNode('');
    return el('div', { class: 'err-box', 'data-testid': 'error' },
      el('strong', { text: error.type || 'error' }), ': ', el('span', { text: error.message || '' }),
      detail && detail.module ? el('span', { class: 'muted', text: ' (' + detail.module + ')' }) : null);
  }

  function spanDetail(span, data) {
    const panel = el('div', { class: 'panel', 'data-testid': 'span-detail' });
    panel.append(el('h2', {}, el('span', { class: 'kind kind-' + span.kind, text: span.kind }), ' ', el('span', { 'data-testid': 'detail-name', text: span.name }), ' ', statusBadge(span.status)));
    panel.append(errorBox(span.error, span.error_detail));
    const facts = el('dl', { class: 'meta' });
    const fact = (k, v) => facts.append(el('dt', { text: k }), el('dd', { text: v }));
    fact('duration', fmtMs(span.duration_ms));
    fact('started', fmtTime(span.started_at));
    fact('iteration', span.iteration === null ? '-' : span.iteration);
    fact('span id', span.id);
    if (span.kind === 'model') {
      fact('model', span.model || '-');
      fact('tokens in/out', fmtInt(span.input_tokens) + ' / ' + fmtInt(span.output_tokens));
      fact('cost', fmtCost(span.cost_usd));
    }
    panel.append(facts, el('h2', { text: 'Attributes' }), jsonBlock(span.attributes));
    panel.append(renderEvents(data.events.filter((e) => e.span_id === span.id), 'Events'));
    return panel;
  }

  function runDetail(data) {
    const panel = el('div', { class: 'panel', 'data-testid': 'run-events' });
    panel.append(renderEvents(data.events.filter((e) => !e.span_id), 'Run events'));
    panel.append(el('h2', { text: 'Run metadata' }), jsonBlock(data.run.metadata));
    return panel;
  }

  function waterfall(data, onSelect) {
    const run = data.run;
    let total = run.latency_ms || 0;
    for (const s of data.spans) total = Math.max(total, s.offset_ms + (s.duration_ms || 0));
    if (total <= 0) total = 1;
    const box = el('div', { class: 'waterfall', 'data-testid': 'waterfall' });
    const ticks = el('div', { class: 'ticks' });
    for (let i = 0; i <= 2; i++) {
      const shift = i === 0 ? '0' : i === 2 ? '-100%' : '-50%';
      ticks.append(el('span', { style: { left: (i * 50) + '%', transform: 'translateX(' + shift + ')' }, text: fmtMs((total * i) / 2) }));
    }
    box.append(el('div', { class: 'wf-axis' }, el('div', { class: 'wf-label', text: 'span' }), ticks, el('div', { class: 'wf-dur', text: 'duration' })));
    for (const span of data.spans) {
      const left = Math.max(0, Math.min(100, (span.offset_ms / total) * 100));
      const width = span.duration_ms === null ? 100 - left : Math.max(0.3, Math.min(100 - left, (span.duration_ms / total) * 100));
      const label = el('div', { class: 'wf-label', style: { paddingLeft: (6 + span.depth * 16) + 'px' } },
        el('span', { class: 'kind kind-' + span.kind, text: span.kind }), ' ',
        el('span', { 'data-testid': 'span-name', text: span.name }),
        span.iteration !== null ? el('span', { class: 'muted', text: ' #' + span.iteration }) : null,
        span.status === 'error' ? el('span', { class: 'error-text', text: ' \u2716' }) : null);
      const row = el('div', {
        class: 'wf-row', 'data-testid': 'span-row', 'data-span-id': span.id, 'data-depth': span.depth,
        'data-kind': span.kind, 'data-status': span.status, 'data-parent-id': span.parent_span_id || '', tabindex: 0,
      }, label, el('div', { class: 'wf-track' }, el('div', { class: 'wf-bar status-' + span.status, style: { left: left + '%', width: width + '%' }, title: span.name })),
      el('div', { class: 'wf-dur', text: fmtMs(span.duration_ms) }));
      row.addEventListener('click', () => {
        for (const r of box.querySelectorAll('.wf-row.selected')) r.classList.remove('selected');
        row.classList.add('selected');
        onSelect(span);
      });
      box.append(row);
    }
    return box;
  }

  async function showRun(id, gen) {
    let data;
    try {
      data = await getJson('/api/runs/' + encodeURIComponent(id));
    } catch (err) {
      if (gen === generation) showError(err);
      return;
    }
    if (gen !== generation) return;
    const selected = app.querySelector('.wf-row.selected');
    const selectedId = selected ? selected.getAttribute('data-span-id') : null;
    clear(app);
    const run = data.run;
    app.append(el('p', {}, el('a', { href: '#/', text: '\u2190 all runs' }), ' \u00b7 ',
      el('a', { href: '#/?session=' + run.session_id, text: 'runs of this session' })));
    app.append(el('h1', {}, el('span', { 'data-testid': 'run-title', text: run.name }), ' ', statusBadge(run.status)));
    app.append(errorBox(run.error, run.error_detail));
    const meta = el('dl', { class: 'meta', 'data-testid': 'run-summary' });
    const fact = (k, v, testid) => meta.append(el('dt', { text: k }), el('dd', { 'data-field': testid || k, text: v }));
    fact('run id', run.id, 'id');
    fact('session', run.session_id, 'session');
    fact('started', fmtTime(run.started_at), 'started');
    fact('ended', fmtTime(run.ended_at), 'ended');
    fact('latency', fmtMs(run.latency_ms), 'latency');
    fact('spans', run.span_count + (run.error_span_count ? ' (' + run.error_span_count + ' failed)' : ''), 'spans');
    fact('tokens in', fmtInt(run.input_tokens), 'tokens_in');
    fact('tokens out', fmtInt(run.output_tokens), 'tokens_out');
    fact('cost', fmtCost(run.cost_usd), 'cost');
    fact('model', run.model || '-', 'model');
    fact('project', run.project || '-', 'project');
    fact('environment', run.environment || '-', 'environment');
    fact('tags', run.tags.join(', ') || '-', 'tags');
    fact('events', String(run.event_count), 'events');
    app.append(meta);

    if (data.models.length > 0) {
      app.append(el('h2', { text: 'Totals per model' }));
      const t = el('table', { 'data-testid': 'models' }, el('thead', {}, el('tr', {}, el('th', { text: 'model' }), el('th', { class: 'num', text: 'calls' }), el('th', { class: 'num', text: 'tokens in' }), el('th', { class: 'num', text: 'tokens out' }), el('th', { class: 'num', text: 'cost' }))));
      const tb = el('tbody');
      for (const m of data.models) tb.append(el('tr', { 'data-testid': 'model-row' }, el('td', { text: m.model }), el('td', { class: 'num', text: m.spans }), el('td', { class: 'num', text: fmtInt(m.input_tokens) }), el('td', { class: 'num', text: fmtInt(m.output_tokens) }), el('td', { class: 'num', text: fmtCost(m.cost_usd) })));
      t.append(tb);
      app.append(t);
    }

    app.append(el('h2', { text: 'Scores (' + data.scores.length + ')' }));
    if (data.scores.length === 0) {
      app.append(el('p', { class: 'muted', text: 'No scores.' }));
    } else {
      const t = el('table', { 'data-testid': 'scores' }, el('thead', {}, el('tr', {}, el('th', { text: 'name' }), el('th', { text: 'value' }), el('th', { text: 'type' }), el('th', { text: 'source' }), el('th', { text: 'comment' }), el('th', { text: 'at' }))));
      const tb = el('tbody');
      for (const s of data.scores) {
        const value = s.data_type === 'categorical' ? s.string_value : s.data_type === 'boolean' ? (s.value === 1 ? 'true' : 'false') : String(s.value);
        tb.append(el('tr', { 'data-testid': 'score-row' }, el('td', { 'data-field': 'name', text: s.name }), el('td', { 'data-field': 'value', text: value }), el('td', { text: s.data_type }), el('td', { text: s.source }), el('td', { text: s.comment || '' }), el('td', { text: fmtTime(s.created_at) })));
      }
      t.append(tb);
      app.append(t);
    }

    const side = el('div', { 'data-testid': 'side' });
    const select = (span) => { clear(side); side.append(span ? spanDetail(span, data) : runDetail(data)); };
    app.append(el('h2', { text: 'Spans' }));
    const wf = waterfall(data, select);
    app.append(el('div', { class: 'layout' }, wf, side));
    const again = selectedId && data.spans.find((s) => s.id === selectedId);
    if (again) {
      wf.querySelector('[data-span-id="' + again.id + '"]').classList.add('selected');
      select(again);
    } else {
      select(null);
    }
    if (run.status === 'running') {
      refreshState.textContent = 'running: auto-refresh every 2 s';
      schedule(() => { if (gen === generation) showRun(id, gen); }, 2000);
    }
  }

  // ---- sessions --------------------------------------------------------------------------------

  async function showSessions(gen) {
    let data;
    try {
      data = await getJson('/api/sessions');
    } catch (err) {
      if (gen === generation) showError(err);
      return;
    }
    if (gen !== generation) return;
    clear(app);
    app.append(el('h1', { text: 'Sessions' }));
    const t = el('table', { 'data-testid': 'sessions-table' }, el('thead', {}, el('tr', {},
      el('th', { text: 'Created' }), el('th', { text: 'Session' }), el('th', { class: 'num', text: 'Runs' }),
      el('th', { class: 'num', text: 'Errored' }), el('th', { class: 'num', text: 'Tool calls' }),
      el('th', { class: 'num', text: 'Tokens in/out' }), el('th', { class: 'num', text: 'Cost' }), el('th', { text: 'Ended' }))));
    const tb = el('tbody');
    for (const s of data.sessions) {
      tb.append(el('tr', { class: 'clickable', 'data-testid': 'session-row', onclick: () => { location.hash = '#/?session=' + s.id; } },
        el('td', { text: fmtTime(s.created_at) }), el('td', {}, el('a', { href: '#/?session=' + s.id, text: s.id })),
        el('td', { class: 'num', text: s.run_count }), el('td', { class: 'num', text: s.error_run_count }),
        el('td', { class: 'num', text: s.tool_call_count }), el('td', { class: 'num', text: fmtInt(s.input_tokens) + ' / ' + fmtInt(s.output_tokens) }),
        el('td', { class: 'num', text: fmtCost(s.cost_usd) }), el('td', { text: fmtTime(s.ended_at) })));
    }
    t.append(tb);
    app.append(t);
    schedule(() => { if (gen === generation) showSessions(gen); }, 5000);
  }

  window.addEventListener('hashchange', route);
  route();
})();
