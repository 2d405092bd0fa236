// vmlab's page: reads the URL and the forms, asks the wasm-compiled vmlab
// library (pkg/vmlab_web.js) for text and pictures, and inserts them. It
// never computes a translation, a schedule or an answer itself.

import init, * as vm from './pkg/vmlab_web.js';

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- messages

const message = $('message');

/** Shows a clear one-line message at the top of the page (under any
 *  message already there). */
function say(text) {
  message.textContent = message.hidden ? text : `${message.textContent}\n${text}`;
  message.hidden = false;
}

function unsay() {
  message.hidden = true;
  message.textContent = '';
}

/** Runs `f`, turning an exception from the wasm side (a string message, or
 *  a trap) into a message on the page instead of a blank one. */
function guarded(what, f) {
  try {
    return f();
  } catch (e) {
    say(`${what}: ${e instanceof Error ? e.message : e}`);
    return undefined;
  }
}

/** Runs `vmlab ARGV` in the browser: {code, out, error}. */
function runCli(argv) {
  return JSON.parse(vm.run_cli(argv));
}

/** The SVG picture a calculator command draws, or '' when it draws none. */
function pictureOf(argv) {
  try {
    return vm.svg(argv);
  } catch (e) {
    return '';
  }
}

/** `vmlab a b c` as a person would type it (quoting what needs it). */
function commandLine(argv) {
  return '$ vmlab ' + argv.map((a) => (/^[\w.,:+\-/=]+$/.test(a) ? a : `'${a}'`)).join(' ');
}

let firstPictureMarked = false;
/** Notes (once) that the page shows its first result: bench/web.sh reads
 *  the time from load to this mark. */
function markFirstPicture() {
  if (firstPictureMarked) return;
  firstPictureMarked = true;
  performance.mark('vmlab-first-picture');
  document.body.dataset.ready = 'true';
}

// ---------------------------------------------------------------- the URL

const VIEWS = {
  scenario: ['name', 'step'],
  translate: ['mech', 'base', 'bounds', 'va-bits', 'seg', 'access', 'phys-mem', 'va'],
  homework: ['sim', 'seed', 'flags'],
  sched: ['jobs', 'policy', 'quantum', 'switch-cost'],
  heap: ['size', 'layout', 'policy', 'order', 'header', 'coalesce', 'what-if', 'requests'],
  trace: ['flags'],
};

let currentView = null;

let urlTimer = null;
let pendingUrl = null;

/** Replaces the query string with `view` and `params`: no history entry per
 *  keystroke, and at most one update per burst of steps (browsers throttle
 *  history updates, and holding an arrow key steps many times a second). */
function setUrl(view, params) {
  const q = new URLSearchParams();
  q.set('view', view);
  for (const [k, v] of params) q.append(k, v);
  pendingUrl = '?' + q.toString();
  if (urlTimer === null) {
    urlTimer = setTimeout(() => {
      urlTimer = null;
      history.replaceState(null, '', pendingUrl);
    }, 150);
  }
}

/** Checks the query string: returns [view, params] or says what is wrong
 *  and falls back to the scenarios. */
function readUrl() {
  const q = new URLSearchParams(location.search);
  let view = q.get('view') || 'scenario';
  const problems = [];
  if (!(view in VIEWS)) {
    problems.push(`unknown view '${view}' (views: ${Object.keys(VIEWS).join(', ')})`);
    view = 'scenario';
  } else {
    for (const key of new Set(q.keys())) {
      if (key !== 'view' && !VIEWS[view].includes(key)) {
        problems.push(`unknown parameter '${key}' for view ${view} (known: ${VIEWS[view].join(', ')})`);
      }
    }
  }
  return [view, q, problems];
}

function show(view) {
  currentView = view;
  for (const name of Object.keys(VIEWS)) {
    $(`view-${name}`).hidden = name !== view;
  }
  for (const a of document.querySelectorAll('nav a')) {
    a.toggleAttribute('aria-current', a.dataset.view === view);
    if (a.dataset.view === view) a.setAttribute('aria-current', 'page');
  }
}

/** A form field's value from the URL, if given. */
function fill(form, name, q) {
  if (!q.has(name)) return;
  const el = form.elements[name];
  const value = q.get(name);
  if (el.type === 'checkbox') {
    el.checked = value === '1' || value === 'true' || value === 'on';
  } else if (el.tagName === 'SELECT') {
    const options = [...el.options].map((o) => o.value);
    if (!options.includes(value)) {
      throw new Error(`${name}: '${value}' is not one of ${options.join(', ')}`);
    }
    el.value = value;
  } else {
    el.value = value;
  }
}

// ---------------------------------------------------------------- scenarios

const sc = {
  session: null,
  index: 0,
  name: '',
};

function openScenario(open, name) {
  const session = guarded('scenario', open);
  if (!session) return false;
  if (sc.session) sc.session.free();
  sc.session = session;
  sc.name = matchName(name) || name;
  sc.index = 0;
  $('sc-title').textContent = session.title();
  return true;
}

/** How many steps before the current one the narration shows. */
const HISTORY = 4;

/** The SVG text each picture box shows now. */
const drawnPictures = new Map();

function drawStep(i) {
  const s = sc.session;
  if (!s) return;
  const n = s.len();
  sc.index = Math.max(0, Math.min(i, n - 1));
  const step = guarded('step', () => JSON.parse(s.step(sc.index)));
  if (!step) return;
  $('sc-step').textContent = `Step ${sc.index + 1} of ${n}`;
  $('sc-step').dataset.index = String(sc.index);
  $('sc-step').dataset.kind = step.kind;
  $('sc-narration').textContent = step.narration;
  // The story so far: the steps just before, greyed.
  const from = Math.max(0, sc.index - HISTORY);
  let history = '';
  for (let j = from; j < sc.index; j++) history += s.narration(j);
  history = history.replace(/^\n+/, '');
  $('sc-history').textContent = history;
  $('sc-history').hidden = history === '';
  // A wrapper scenario's step is a command's output (tables): no wrapping.
  $('sc-narration').classList.toggle('table', 'picture' in step);
  for (const [key, fig, box] of [
    ['memory_map', 'sc-memory-map-fig', 'sc-memory-map'],
    ['address_space', 'sc-address-space-fig', 'sc-address-space'],
    ['picture', 'sc-picture-fig', 'sc-picture'],
    ['translation', 'sc-translation-fig', 'sc-translation'],
    ['context_switch', 'sc-switch-fig', 'sc-switch'],
    ['cost', 'sc-cost-fig', 'sc-cost'],
    ['tlb', 'sc-tlb-fig', 'sc-tlb'],
  ]) {
    // Most steps change one picture: leave the others' nodes alone (the
    // browser would parse and lay them out again).
    const svg = step[key] || '';
    if (drawnPictures.get(box) !== svg) {
      $(box).innerHTML = svg;
      drawnPictures.set(box, svg);
    }
    $(fig).hidden = !svg;
  }
  $('sc-prev').disabled = $('sc-first').disabled = sc.index === 0;
  $('sc-next').disabled = $('sc-last').disabled = sc.index === n - 1;
  $('sc-fault').disabled = s.first_fault() === undefined;
  const params = [];
  if (sc.name) params.push(['name', sc.name]);
  params.push(['step', String(sc.index + 1)]);
  setUrl('scenario', params);
  markFirstPicture();
}

/** A `step` parameter: a number from 1, `last`, or `fault`. */
function stepFromParam(text) {
  const n = sc.session.len();
  if (text === 'last') return n - 1;
  if (text === 'first') return 0;
  if (text === 'fault') {
    const f = sc.session.first_fault();
    if (f === undefined) throw new Error(`step=fault: this scenario has no fault`);
    return f;
  }
  if (/^[0-9]+$/.test(text) && +text >= 1 && +text <= n) return +text - 1;
  throw new Error(`step: '${text}' is not a step (1 to ${n}, last, first or fault)`);
}

function initScenarios(q) {
  const select = $('sc-name');
  const list = JSON.parse(vm.scenarios());
  for (const { name, description } of list) {
    const o = document.createElement('option');
    o.value = name;
    o.textContent = description ? `${name} — ${description}` : name;
    select.append(o);
  }
  const custom = document.createElement('option');
  custom.value = '';
  custom.textContent = '(your own TOML)';
  select.append(custom);

  select.addEventListener('change', () => {
    if (!select.value) {
      openEditor(true);
      return;
    }
    unsay();
    if (openScenario(() => vm.Session.builtin(select.value), select.value)) {
      $('sc-toml').value = vm.scenario_toml(select.value);
      $('sc-error').hidden = true;
      drawStep(0);
    }
  });
  $('sc-edit').addEventListener('click', () => openEditor($('sc-editor').hidden));
  $('sc-run').addEventListener('click', runToml);
  $('sc-first').addEventListener('click', () => drawStep(0));
  $('sc-prev').addEventListener('click', () => drawStep(sc.index - 1));
  $('sc-next').addEventListener('click', () => drawStep(sc.index + 1));
  $('sc-last').addEventListener('click', () => drawStep(Infinity));
  $('sc-fault').addEventListener('click', () => {
    const f = sc.session && sc.session.first_fault();
    if (f !== undefined) drawStep(f);
  });
  document.addEventListener('keydown', (ev) => {
    if (currentView !== 'scenario' || !sc.session) return;
    if (ev.target.closest && ev.target.closest('input, textarea, select')) return;
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const moves = {
      ArrowRight: () => sc.index + 1,
      ArrowLeft: () => sc.index - 1,
      Home: () => 0,
      End: () => Infinity,
      f: () => sc.session.first_fault() ?? sc.index,
    };
    if (ev.key in moves) {
      ev.preventDefault();
      drawStep(moves[ev.key]());
    }
  });

  // The deep link.
  const name = q.get('name') || list[0].name;
  let found = openScenario(() => vm.Session.builtin(name), name);
  if (!found) {
    // An unknown name: say so (done), and show the first built-in.
    openScenario(() => vm.Session.builtin(list[0].name), list[0].name);
  }
  const known = [...select.options].find((o) => o.value && o.value === matchName(name));
  select.value = known ? known.value : list[0].name;
  $('sc-toml').value = guarded('scenario', () => vm.scenario_toml(select.value)) || '';
  let index = 0;
  if (q.has('step') && found) {
    index = guarded('deep link', () => stepFromParam(q.get('step'))) ?? 0;
  }
  drawStep(index);
}

/** The full built-in name a (prefix) name opens, e.g. e7 -> e7-base-bounds
 *  ('' when none). */
function matchName(name) {
  try {
    return vm.scenario_name(name);
  } catch (e) {
    return '';
  }
}

function openEditor(open) {
  $('sc-editor').hidden = !open;
  $('sc-edit').setAttribute('aria-expanded', String(open));
  if (open) $('sc-toml').focus();
}

function runToml() {
  const text = $('sc-toml').value;
  let session;
  try {
    session = vm.Session.from_toml(text);
  } catch (e) {
    $('sc-error').textContent = String(e);
    $('sc-error').hidden = false;
    return;
  }
  $('sc-error').hidden = true;
  unsay();
  if (sc.session) sc.session.free();
  sc.session = session;
  sc.name = '';
  $('sc-name').value = '';
  $('sc-title').textContent = session.title();
  drawStep(0);
}

// ---------------------------------------------------------------- translate

function translateArgv(form) {
  const f = form.elements;
  const argv = ['translate'];
  const mech = f.mech.value;
  if (mech === 'seg') {
    argv.push('--va-bits', f['va-bits'].value.trim());
    for (const line of f.segments.value.split('\n')) {
      if (line.trim()) argv.push('--segment', line.trim());
    }
  } else {
    argv.push('--base', f.base.value.trim());
    if (mech === 'bb') argv.push('--bounds', f.bounds.value.trim());
  }
  argv.push('--access', f.access.value, '--phys-mem', f['phys-mem'].value.trim());
  argv.push(...f.va.value.split(/[\s,]+/).filter(Boolean));
  return argv;
}

function drawTranslate() {
  const form = $('tr-form');
  const f = form.elements;
  const mech = f.mech.value;
  for (const el of form.querySelectorAll('label.bb, label.base, label.seg')) {
    el.hidden = !el.classList.contains(mech);
  }
  const argv = translateArgv(form);
  $('tr-command').textContent = commandLine(argv);
  const hasVa = f.va.value.trim() !== '';
  const r = hasVa ? runCli(argv) : { out: '', error: 'Type a virtual address.' };
  $('tr-output').textContent = r.out + (r.error ? (r.out ? '\n' : '') + r.error : '');
  $('tr-output').classList.toggle('failed', !!r.error);
  $('tr-svg').innerHTML = hasVa && !r.error ? pictureOf(argv) : '';
  const params = [['mech', mech]];
  if (mech === 'seg') {
    params.push(['va-bits', f['va-bits'].value]);
    for (const line of f.segments.value.split('\n')) if (line.trim()) params.push(['seg', line.trim()]);
  } else {
    params.push(['base', f.base.value]);
    if (mech === 'bb') params.push(['bounds', f.bounds.value]);
  }
  params.push(['access', f.access.value], ['phys-mem', f['phys-mem'].value], ['va', f.va.value]);
  setUrl('translate', params);
  markFirstPicture();
}

function initTranslate(q) {
  const form = $('tr-form');
  for (const name of ['mech', 'base', 'bounds', 'va-bits', 'access', 'phys-mem', 'va']) {
    guarded('deep link', () => fill(form, name, q));
  }
  if (q.has('seg')) form.elements.segments.value = q.getAll('seg').join('\n');
  form.addEventListener('input', drawTranslate);
  form.addEventListener('submit', (e) => e.preventDefault());
  drawTranslate();
}

// ---------------------------------------------------------------- homework

const QUIZ_SIMS = ['relocation', 'segmentation', 'paging-linear-translate'];

function homeworkArgv() {
  const f = $('hw-form').elements;
  const argv = [f.sim.value, '-s', f.seed.value.trim() || '0'];
  argv.push(...f.flags.value.split(/\s+/).filter(Boolean));
  return argv;
}

function drawHomework() {
  const f = $('hw-form').elements;
  const argv = homeworkArgv();
  $('hw-command').textContent = commandLine(argv);
  const r = runCli(argv);
  $('hw-problem').textContent = r.out + (r.error ? r.error : '');
  $('hw-problem').classList.toggle('failed', !!r.error);
  $('hw-solution').hidden = true;
  $('hw-reveal').setAttribute('aria-expanded', 'false');
  $('hw-score').textContent = '';
  // The quiz: one answer box per question (the count from --json).
  const quizzable = QUIZ_SIMS.includes(f.sim.value) && r.code === 0;
  let count = 0;
  if (quizzable) {
    const j = runCli([...argv, '--json']);
    const first = j.code === 0 && j.out ? JSON.parse(j.out.split('\n')[0]) : null;
    count = first && first.kind === 'problem' ? first.questions : 0;
  }
  const list = $('hw-questions');
  list.replaceChildren();
  for (let i = 0; i < Math.min(count, 200); i++) {
    const li = document.createElement('li');
    const label = document.createElement('label');
    label.textContent = `VA ${i}: `;
    const input = document.createElement('input');
    input.dataset.testid = 'answer';
    input.dataset.index = String(i);
    input.setAttribute('aria-label', `Answer to question ${i}`);
    input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') checkAnswers();
    });
    label.append(input);
    const verdict = document.createElement('span');
    verdict.className = 'verdict';
    verdict.dataset.testid = 'verdict';
    verdict.dataset.index = String(i);
    li.append(label, verdict);
    list.append(li);
  }
  $('hw-quiz').hidden = count === 0;
  $('hw-noquiz').hidden = QUIZ_SIMS.includes(f.sim.value) || r.code !== 0;
  setUrl('homework', [['sim', f.sim.value], ['seed', f.seed.value], ...(f.flags.value ? [['flags', f.flags.value]] : [])]);
  markFirstPicture();
}

function checkAnswers() {
  const inputs = [...document.querySelectorAll('#hw-questions input')];
  const answers = inputs.map((i) => i.value.trim());
  let last = answers.length;
  while (last > 0 && !answers[last - 1]) last--;
  const typed = answers.slice(0, last).map((a) => a + '\n').join('');
  const r = guarded('quiz', () => JSON.parse(vm.quiz(homeworkArgv(), typed)));
  if (!r) return;
  if (r.error) say(r.error);
  for (const [i, span] of document.querySelectorAll('#hw-questions .verdict').entries()) {
    const v = answers[i] ? r.verdicts[i] || '' : '';
    span.textContent = v;
    span.classList.toggle('right', v.startsWith('right'));
    span.classList.toggle('wrong', v.startsWith('wrong'));
  }
  $('hw-score').textContent = r.score;
}

function initHomework(q) {
  const form = $('hw-form');
  for (const name of ['sim', 'seed', 'flags']) guarded('deep link', () => fill(form, name, q));
  form.addEventListener('change', drawHomework);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    drawHomework();
  });
  $('hw-check').addEventListener('click', checkAnswers);
  $('hw-reveal').addEventListener('click', () => {
    const open = $('hw-solution').hidden;
    if (open) {
      const r = runCli([...homeworkArgv(), '-c']);
      $('hw-solution').textContent = r.out + (r.error || '');
    }
    $('hw-solution').hidden = !open;
    $('hw-reveal').setAttribute('aria-expanded', String(open));
  });
  drawHomework();
}

// ---------------------------------------------------------------- sched, heap

function drawCalc(view, argvOf, paramsOf) {
  const argv = argvOf();
  $(`${view}-command`).textContent = commandLine(argv);
  const r = runCli(argv);
  $(`${view}-output`).textContent = r.out + (r.error ? (r.out ? '\n' : '') + r.error : '');
  $(`${view}-output`).classList.toggle('failed', !!r.error);
  $(`${view}-svg`).innerHTML = r.error ? '' : pictureOf(argv);
  setUrl(view, paramsOf());
  markFirstPicture();
}

function formParams(form, names) {
  const params = [];
  for (const name of names) {
    const el = form.elements[name];
    params.push([name, el.type === 'checkbox' ? (el.checked ? '1' : '0') : el.value]);
  }
  return params;
}

function initCalc(view, names, argvOf, q) {
  const form = $(`${view}-form`);
  for (const name of names) guarded('deep link', () => fill(form, name, q));
  const draw = () => drawCalc(view, () => argvOf(form.elements), () => formParams(form, names));
  form.addEventListener('input', draw);
  form.addEventListener('submit', (e) => e.preventDefault());
  draw();
}

function schedArgv(f) {
  return ['sched', '--jobs', f.jobs.value.trim(), '--policy', f.policy.value,
    '--quantum', f.quantum.value.trim(), '--switch-cost', f['switch-cost'].value.trim()];
}

function heapArgv(f) {
  const argv = ['heap'];
  if (f.size.value.trim()) argv.push('--size', f.size.value.trim());
  if (f.layout.value.trim()) argv.push('--layout', f.layout.value.trim());
  argv.push('--policy', f.policy.value, '--order', f.order.value, '--header', f.header.value.trim() || '0');
  if (f.coalesce.checked) argv.push('--coalesce');
  if (f['what-if'].checked) argv.push('--what-if');
  argv.push(...f.requests.value.split(/\s+/).filter(Boolean));
  return argv;
}

// ---------------------------------------------------------------- trace

const traceFile = { name: '', bytes: null };

function drawTrace() {
  const f = $('trace-form').elements;
  const flags = f.flags.value.split(/\s+/).filter(Boolean);
  setUrl('trace', [['flags', f.flags.value]]);
  $('trace-command').textContent = commandLine(['trace', traceFile.name || 'FILE', ...flags]);
  if (!traceFile.bytes) {
    $('trace-output').textContent = 'Drop a trace file here, or choose one.';
    markFirstPicture();
    return;
  }
  $('trace-output').textContent = `Replaying ${traceFile.name}…`;
  // Let the message show before the (synchronous) replay.
  setTimeout(() => {
    const r = guarded('trace', () => JSON.parse(vm.trace(traceFile.name, traceFile.bytes, flags)));
    if (!r) return;
    $('trace-output').textContent = r.out + (r.error ? (r.out ? '\n' : '') + r.error : '');
    $('trace-output').classList.toggle('failed', !!r.error);
    document.body.dataset.traced = 'true';
  }, 0);
}

async function loadTrace(file) {
  if (!file) return;
  traceFile.name = file.name;
  traceFile.bytes = new Uint8Array(await file.arrayBuffer());
  drawTrace();
}

function initTrace(q) {
  const form = $('trace-form');
  guarded('deep link', () => fill(form, 'flags', q));
  form.elements.file.addEventListener('change', () => loadTrace(form.elements.file.files[0]));
  form.elements.flags.addEventListener('change', drawTrace);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    drawTrace();
  });
  const drop = $('trace-drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    loadTrace(e.dataTransfer.files[0]);
  });
  drawTrace();
}

// ---------------------------------------------------------------- start

async function main() {
  try {
    await init();
  } catch (e) {
    $('loading').hidden = true;
    say(`Could not load vmlab's WebAssembly (pkg/vmlab_web_bg.wasm): ${e}. Serve this folder over HTTP, e.g. with: vmlab web`);
    return;
  }
  $('loading').hidden = true;
  // The library, for the browser console and course material's own scripts.
  window.vmlab = vm;
  $('version').textContent = vm.version();
  const [view, q, problems] = readUrl();
  if (problems.length) say(problems.join('; '));
  show(view);
  const inits = {
    scenario: initScenarios,
    translate: initTranslate,
    homework: initHomework,
    sched: (p) => initCalc('sched', VIEWS.sched, schedArgv, p),
    heap: (p) => initCalc('heap', VIEWS.heap, heapArgv, p),
    trace: initTrace,
  };
  // Only the view in the URL reads it; the others start from their defaults
  // when first shown.
  const started = new Set();
  const start = (name, params) => {
    if (started.has(name)) return;
    started.add(name);
    guarded(name, () => inits[name](params));
  };
  start(view, q);
  for (const a of document.querySelectorAll('nav a')) {
    a.addEventListener('click', (ev) => {
      ev.preventDefault();
      unsay();
      show(a.dataset.view);
      start(a.dataset.view, new URLSearchParams());
      // Redraw to put this view's state in the URL.
      ({ scenario: () => drawStep(sc.index), translate: drawTranslate, homework: drawHomework,
        sched: () => $('sched-form').dispatchEvent(new Event('input')),
        heap: () => $('heap-form').dispatchEvent(new Event('input')), trace: drawTrace })[a.dataset.view]();
    });
  }
}

main();
