#!/usr/bin/env node
// Browser test of the northstar-local dashboard: Debian's chromium, headless, driven over the
// DevTools protocol by puppeteer-core. It fills a real server with agent_demo (plainly, then with
// the first two requests failing with 503), a score and a run full of HTML/script text, then checks
// the runs list and the run page in the DOM, saves screenshots, and checks that no logged markup
// ever runs.
//
//   node dashboard_test.cjs --server BIN --demo BIN --deps DIR --out DIR
// Exit 0 = every check passed, 1 = a check failed, 77 = a prerequisite is missing (outside CI).
'use strict';

const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

function arg(name) {
  const i = process.argv.indexOf('--' + name);
  return i > 0 ? process.argv[i + 1] : undefined;
}
const serverBin = arg('server');
const demoBin = arg('demo');
const depsDir = process.env.DAGSTACK_BROWSER_DEPS || arg('deps'); // the environment wins (scripts/test.sh sets it)
const outDir = arg('out');
const chromiumBin = process.env.CHROMIUM || '/usr/bin/chromium';
const KEY = 'ns_browser_test_key_0123456789abcdef';

function missing(what) {
  console.error('dashboard_test: missing ' + what + (process.env.CI ? '' : ' (run scripts/setup_browser.sh)'));
  process.exit(process.env.CI ? 1 : 77);
}
if (!fs.existsSync(chromiumBin)) missing(chromiumBin);
let puppeteer;
try {
  puppeteer = require(path.join(depsDir || '', 'node_modules', 'puppeteer-core'));
} catch (e) {
  missing('puppeteer-core in ' + depsDir);
}

let passed = 0;
let failed = 0;
function check(ok, what, detail) {
  if (ok) {
    passed += 1;
  } else {
    failed += 1;
    console.error('FAIL: ' + what + (detail === undefined ? '' : ' -- got ' + JSON.stringify(detail)));
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const uuid = () => crypto.randomUUID();

async function startServer(work) {
  const portFile = path.join(work, 'port');
  const log = fs.openSync(path.join(work, 'server.log'), 'w');
  const child = spawn(serverBin, ['serve', '--db', path.join(work, 'db'), '--api-key', KEY, '--port-file', portFile],
    { stdio: ['ignore', log, log] });
  for (let i = 0; i < 200; i++) {
    if (fs.existsSync(portFile) && fs.readFileSync(portFile, 'utf8').trim()) {
      return { child, port: Number(fs.readFileSync(portFile, 'utf8').trim()) };
    }
    await sleep(50);
  }
  throw new Error('northstar-local did not start: ' + fs.readFileSync(path.join(work, 'server.log'), 'utf8'));
}

async function post(base, pathname, body, headers) {
  const r = await fetch(base + pathname, {
    method: 'POST', body: JSON.stringify(body),
    headers: Object.assign({ Authorization: 'Bearer ' + KEY, 'Content-Type': 'application/json' }, headers || {}),
  });
  return { status: r.status, body: await r.text() };
}

function runDemo(base, work, name) {
  const r = spawnSync(demoBin, [path.join(work, name + '.jsonl')], {
    env: Object.assign({}, process.env, {
      NORTHSTAR_ENDPOINT: base + '/functions/v1/ingest-traces', NORTHSTAR_API_KEY: KEY,
      NORTHSTAR_PROJECT: 'agent-demo', NORTHSTAR_ENVIRONMENT: 'browser-test',
    }),
    encoding: 'utf8', timeout: 60000,
  });
  if (r.status !== 0) throw new Error('agent_demo failed: ' + r.stderr);
}

// A run whose every string is markup: nothing of it may run or become an element.
async function postHostileRun(base) {
  const session = uuid(), run = uuid(), span = uuid();
  const t = (ms) => new Date(Date.UTC(2026, 0, 2, 3, 4, 5) + ms).toISOString();
  const r = await post(base, '/functions/v1/ingest-traces', {
    schema_version: 2,
    sessions: [{ id: session, created_at: t(0), metadata: {} }],
    runs: [{ id: run, session_id: session, name: '<img src=x onerror="window.__xss=1">', started_at: t(0), ended_at: t(900),
      status: 'error', error: { type: '<script>window.__xss=5</script>', message: '<b onmouseover="window.__xss=6">boom</b>' },
      metadata: { tags: ['<script>window.__xss=7</script>'] } }],
    spans: [{ id: span, run_id: run, kind: 'model', name: '<svg onload="window.__xss=2">', started_at: t(10), ended_at: t(800),
      status: 'ok', attributes: { model: '<i>m</i>', input_tokens: 3, output_tokens: 4 } }],
    events: [
      { id: uuid(), run_id: run, span_id: span, type: 'user_input', created_at: t(20), content: '<script>window.__xss=3</script>', attributes: {} },
      { id: uuid(), run_id: run, span_id: span, type: 'assistant_message', created_at: t(30), content: '<img src=x onerror=window.__xss=4>', attributes: {} },
    ],
    scores: [], prompt_links: [],
  });
  if (r.status !== 200) throw new Error('hostile batch refused: ' + r.body);
  return run;
}

// The same run as the NorthStar Python SDK would send it: new uuid4 ids, keys in the SDK's
// insertion order (not sorted), observe() arguments bound by name, pricing_source "litellm",
// one batch carrying everything. Timings, names, tokens and costs are the C++ run's.
function sdkShapedCopy(api) {
  const session = uuid();
  const run = api.run;
  const ids = new Map(api.spans.map((s) => [s.id, uuid()]));
  const meta = run.metadata;
  const runMetadata = { project: meta.project, environment: meta.environment };
  for (const [k, v] of Object.entries(meta)) {
    if (!['project', 'environment', 'tags', 'cost_usd', 'total_input_tokens', 'total_output_tokens', 'latency_ms'].includes(k)) runMetadata[k] = v;
  }
  Object.assign(runMetadata, { tags: meta.tags, cost_usd: meta.cost_usd, total_input_tokens: meta.total_input_tokens,
    total_output_tokens: meta.total_output_tokens, latency_ms: meta.latency_ms });
  const spans = api.spans.map((s) => {
    const a = s.attributes;
    const attributes = s.kind === 'model'
      ? { model: a.model, input_tokens: a.input_tokens, output_tokens: a.output_tokens, total_tokens: a.total_tokens,
        cost_usd: a.cost_usd, pricing_source: 'litellm', latency_ms: a.latency_ms }
      : Object.assign({}, a);
    const out = { id: ids.get(s.id), run_id: null, kind: s.kind, name: s.name, started_at: s.started_at };
    if (s.parent_span_id) out.parent_span_id = ids.get(s.parent_span_id);
    if (s.ended_at) out.ended_at = s.ended_at;
    out.status = s.status;
    if (s.error_detail) out.error = { type: s.error_detail.type, message: s.error_detail.message, module: '__main__' };
    if (s.iteration !== null) out.iteration = s.iteration;
    out.attributes = attributes;
    return out;
  });
  const runId = uuid();
  for (const s of spans) s.run_id = runId;
  const events = api.events.map((e) => {
    let content = e.content;
    // observe() binds arguments by name: {"city": "Paris"}, where the C++ sink sends {"args": [...]}.
    if (e.type === 'tool_arguments' && content && Array.isArray(content.args)) content = { city: content.args[0] };
    const out = { id: uuid(), run_id: runId };
    if (e.span_id) out.span_id = ids.get(e.span_id);
    Object.assign(out, { type: e.type, created_at: e.created_at, content, attributes: e.attributes });
    return out;
  });
  return {
    runId,
    payload: {
      schema_version: 2,
      sessions: [{ id: session, created_at: run.started_at, metadata: {} }],
      runs: [{ id: runId, session_id: session, name: run.name, started_at: run.started_at, ended_at: run.ended_at,
        status: run.status, metadata: runMetadata }],
      spans, events, scores: [], prompt_links: [],
    },
  };
}

// What the run page shows about a run, minus its ids and times of day.
async function pageSummary(page, base, runId) {
  await page.goto(base + '/#/run/' + runId, { waitUntil: 'networkidle0' });
  await page.waitForSelector('[data-testid="span-row"]');
  return page.evaluate(() => {
    const fields = {};
    for (const dd of document.querySelectorAll('[data-testid="run-summary"] dd')) {
      const k = dd.getAttribute('data-field');
      if (!['id', 'session', 'started', 'ended'].includes(k)) fields[k] = dd.textContent;
    }
    fields.title = document.querySelector('[data-testid="run-title"]').textContent;
    fields.status = document.querySelector('h1 [data-testid="status"]').textContent;
    fields.models = Array.from(document.querySelectorAll('[data-testid="model-row"]')).map((r) => r.textContent);
    fields.spans_shown = Array.from(document.querySelectorAll('[data-testid="span-row"]')).map((r) =>
      [r.getAttribute('data-depth'), r.getAttribute('data-kind'), r.getAttribute('data-status'), r.querySelector('.wf-label').textContent,
        r.querySelector('.wf-dur').textContent].join(' '));
    return fields;
  });
}

async function main() {
  fs.mkdirSync(outDir, { recursive: true });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nsl-browser-'));
  const { child, port } = await startServer(work);
  const base = 'http://127.0.0.1:' + port;
  let browser;
  try {
    runDemo(base, work, 'plain');
    const faults = await post(base, '/__admin/faults', { fail_next: 2, status: 503 });
    if (faults.status !== 200) throw new Error('faults: ' + faults.body);
    runDemo(base, work, 'retried');
    const runs = (await (await fetch(base + '/api/runs')).json()).runs;
    check(runs.length === 2, 'two agent_demo runs stored', runs.length);
    const demoRun = runs[0];
    const score = await post(base, '/functions/v1/ingest-traces', {
      schema_version: 2, sessions: [], runs: [], spans: [], events: [], prompt_links: [],
      scores: [{ id: uuid(), trace_id: demoRun.id, name: 'helpfulness', value: 0.875, data_type: 'numeric', source: 'api',
        comment: 'browser test', created_at: new Date().toISOString() }],
    });
    check(score.status === 200, 'score accepted', score.body);
    const hostileRun = await postHostileRun(base);
    const cppApi = await (await fetch(base + '/api/runs/' + runs[1].id)).json();
    const sdk = sdkShapedCopy(cppApi);
    const sdkPost = await post(base, '/functions/v1/ingest-traces', sdk.payload);
    check(sdkPost.status === 200, 'SDK-shaped payload accepted', sdkPost.body);

    browser = await puppeteer.launch({
      executablePath: chromiumBin, headless: true,
      userDataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'nsl-chromium-')),
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    });
    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 900 });
    const dialogs = [];
    page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
    const foreignRequests = [];
    page.on('request', (r) => { if (!r.url().startsWith(base) && !r.url().startsWith('data:')) foreignRequests.push(r.url()); });

    // ---- runs list
    await page.goto(base + '/', { waitUntil: 'networkidle0' });
    await page.waitForSelector('[data-testid="run-row"]');
    const rows = await page.$$eval('[data-testid="run-row"]', (trs) => trs.map((tr) => ({
      id: tr.getAttribute('data-run-id'),
      name: tr.querySelector('[data-testid="run-name"]').textContent,
      status: tr.querySelector('[data-testid="status"]').textContent,
      tokensIn: tr.querySelector('[data-testid="tokens-in"]').textContent,
      cost: tr.querySelector('[data-testid="cost"]').textContent,
    })));
    check(rows.length === 4, 'four runs listed', rows.length);
    const demoRows = rows.filter((r) => r.name === 'travel-agent');
    check(demoRows.length === 3, 'both agent_demo runs and the SDK-shaped copy listed by name', rows.map((r) => r.name));
    check(demoRows.every((r) => r.status === 'ok'), 'agent_demo runs are ok', demoRows.map((r) => r.status));
    check(demoRows.every((r) => r.tokensIn === '1,067'), 'run tokens in (412 + 655)', demoRows.map((r) => r.tokensIn));
    await page.screenshot({ path: path.join(outDir, 'runs.png') });

    // Filters: status=error leaves the hostile run only; a name filter finds the demo runs.
    await page.goto(base + '/#/?status=error', { waitUntil: 'networkidle0' });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="run-row"]').length === 1);
    check((await page.$$eval('[data-testid="run-row"]', (t) => t.map((r) => r.getAttribute('data-run-id'))))[0] === hostileRun,
      'status filter');
    await page.goto(base + '/#/?name=travel', { waitUntil: 'networkidle0' });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="run-row"]').length === 3);
    check(true, 'name filter');

    // ---- run page
    await page.goto(base + '/#/run/' + demoRun.id, { waitUntil: 'networkidle0' });
    await page.waitForSelector('[data-testid="span-row"]');
    check(await page.$eval('[data-testid="run-title"]', (e) => e.textContent) === 'travel-agent', 'run title');
    check(await page.$eval('h1 [data-testid="status"]', (e) => e.textContent) === 'ok', 'run status');
    const pageLines = (await page.$eval('#app', (e) => e.innerText)).split('\n');
    check(!pageLines.includes('null') && !pageLines.includes('undefined'), 'no stray null/undefined text');
    const spans = await page.$$eval('[data-testid="span-row"]', (rs) => rs.map((r) => ({
      id: r.getAttribute('data-span-id'), parent: r.getAttribute('data-parent-id'), depth: Number(r.getAttribute('data-depth')),
      kind: r.getAttribute('data-kind'), status: r.getAttribute('data-status'),
      name: r.querySelector('[data-testid="span-name"]').textContent,
    })));
    check(spans.length === 7, '7 spans in the waterfall', spans.length);
    const shape = spans.map((s) => '  '.repeat(s.depth) + s.kind + ':' + s.name).join('\n');
    const expectedShape = ['agent:plan', '  model:llm.chat', '  tool:get_weather', '  tool:book_table', '  tool:book_table',
      'agent:plan', '  model:llm.chat'].join('\n');
    check(shape === expectedShape, 'waterfall nesting and order', shape);
    let lastRoot = null;
    let parentsOk = true;
    for (const s of spans) {
      if (s.depth === 0) lastRoot = s.id;
      else if (s.parent !== lastRoot) parentsOk = false;
    }
    check(parentsOk, 'children sit under their parent span');
    const errorSpans = spans.filter((s) => s.status === 'error');
    check(errorSpans.length === 1 && errorSpans[0].name === 'book_table', 'one error span: the first book_table', errorSpans);
    const errorBar = await page.$eval('[data-testid="span-row"][data-status="error"] .wf-bar', (b) => getComputedStyle(b).backgroundColor);
    check(errorBar === 'rgb(207, 34, 46)', 'error span bar is red', errorBar);

    // Click the first model span: tokens, cost, messages by role.
    const api = await (await fetch(base + '/api/runs/' + demoRun.id)).json();
    const modelSpan = api.spans.find((s) => s.kind === 'model');
    await page.click('[data-testid="span-row"][data-span-id="' + modelSpan.id + '"]');
    await page.waitForSelector('[data-testid="span-detail"]');
    const detail = await page.$eval('[data-testid="span-detail"]', (d) => d.innerText);
    check(detail.includes('412 / 58'), 'model span tokens in/out', detail.slice(0, 400));
    check(modelSpan.cost_usd > 0 && detail.includes('$' + modelSpan.cost_usd.toFixed(6)), 'model span cost', modelSpan.cost_usd);
    const messages = await page.$$eval('[data-testid="span-detail"] [data-testid="event"]', (es) => es.map((e) => ({
      type: e.getAttribute('data-type'), cls: e.className, text: e.querySelector('.text, pre') ? e.querySelector('.text, pre').textContent : '',
    })));
    const user = messages.find((m) => m.type === 'user_input');
    const assistant = messages.find((m) => m.type === 'assistant_message');
    const system = messages.find((m) => m.type === 'system_message');
    check(user && user.cls.includes('role-user') && user.text.startsWith("What's the weather in Paris"), 'user message rendered', user);
    check(assistant && assistant.cls.includes('role-assistant') && assistant.text === 'Let me check the weather and book a table.',
      'assistant message rendered', assistant);
    check(system && system.text === 'You are a concise travel assistant.', 'system message rendered', system);
    const toolArgs = messages.filter((m) => m.type === 'tool_arguments');
    check(toolArgs.length === 2 && toolArgs[0].text.includes('"city": "Paris"'), 'tool call arguments as formatted JSON', toolArgs);

    // Click the failed tool span: its error type and message.
    await page.click('[data-testid="span-row"][data-status="error"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="detail-name"]').textContent === 'book_table');
    const err = await page.$eval('[data-testid="span-detail"] [data-testid="error"]', (e) => e.textContent);
    check(err.includes('booking service busy, retry later'), 'error span shows its message', err);

    // Scores and totals per model.
    const scoreRow = await page.$$eval('[data-testid="score-row"]', (rs) => rs.map((r) => [r.querySelector('[data-field="name"]').textContent, r.querySelector('[data-field="value"]').textContent]));
    check(JSON.stringify(scoreRow) === JSON.stringify([['helpfulness', '0.875']]), 'score shown', scoreRow);
    const models = await page.$$eval('[data-testid="model-row"]', (rs) => rs.map((r) => r.textContent));
    check(models.length === 1 && models[0].startsWith('gpt-4o-mini2'), 'totals per model', models);
    await page.click('[data-testid="span-row"][data-span-id="' + modelSpan.id + '"]');
    await page.screenshot({ path: path.join(outDir, 'run.png'), fullPage: true });
    await page.setViewport({ width: 1200, height: 760 });
    await page.evaluate(() => document.querySelector('h2:nth-of-type(3)') && window.scrollTo(0, 330));
    await page.screenshot({ path: path.join(outDir, 'run-waterfall.png') });
    await page.setViewport({ width: 1400, height: 900 });

    // Sessions page.
    await page.goto(base + '/#/sessions', { waitUntil: 'networkidle0' });
    await page.waitForSelector('[data-testid="session-row"]');
    check((await page.$$('[data-testid="session-row"]')).length === 4, 'sessions listed');

    // ---- the SDK-shaped copy and the C++ run look the same
    const cppSummary = await pageSummary(page, base, runs[1].id);
    const sdkSummary = await pageSummary(page, base, sdk.runId);
    check(JSON.stringify(cppSummary) === JSON.stringify(sdkSummary), 'SDK-shaped and C++ runs are shown alike',
      { cpp: cppSummary, sdk: sdkSummary });
    check(cppSummary.spans_shown.length === 7 && cppSummary.tokens_in === '1,067', 'compared summaries are not empty', cppSummary);

    // ---- hostile text renders as text, and nothing runs
    await page.goto(base + '/#/', { waitUntil: 'networkidle0' });
    await page.waitForSelector('[data-run-id="' + hostileRun + '"]');
    check(await page.$eval('[data-run-id="' + hostileRun + '"] [data-testid="run-name"]', (e) => e.textContent) ===
      '<img src=x onerror="window.__xss=1">', 'markup in a run name is text');
    await page.goto(base + '/#/run/' + hostileRun, { waitUntil: 'networkidle0' });
    await page.waitForSelector('[data-testid="span-row"]');
    await page.click('[data-testid="span-row"]');
    await page.waitForSelector('[data-testid="span-detail"] [data-testid="event"]');
    const texts = await page.$$eval('[data-testid="span-detail"] [data-testid="event"] .text', (es) => es.map((e) => e.textContent));
    check(texts.includes('<script>window.__xss=3</script>'), 'logged <script> shows as text', texts);
    check(texts.includes('<img src=x onerror=window.__xss=4>'), 'logged <img onerror> shows as text', texts);
    await sleep(300);
    const injected = await page.evaluate(() => ({
      xss: window.__xss, imgs: document.querySelectorAll('#app img, #app svg, #app b, #app i').length,
      scripts: Array.from(document.scripts).map((s) => s.getAttribute('src')),
    }));
    check(injected.xss === undefined, 'no logged script ran', injected.xss);
    check(injected.imgs === 0, 'no logged element was created', injected.imgs);
    check(JSON.stringify(injected.scripts) === JSON.stringify(['/ui/app.js']), 'only the dashboard script is loaded', injected.scripts);
    check(dialogs.length === 0, 'no dialogs', dialogs);
    check(foreignRequests.length === 0, 'nothing loaded from outside the server', foreignRequests);
    await page.screenshot({ path: path.join(outDir, 'hostile-run.png') });
  } finally {
    if (browser) await browser.close();
    child.kill('SIGTERM');
    fs.rmSync(work, { recursive: true, force: true });
  }
  console.log('screenshots in ' + outDir);
  console.log(passed + ' passed, ' + failed + ' failed');
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error('dashboard_test: ' + (e && e.stack ? e.stack : e));
  process.exit(1);
});
