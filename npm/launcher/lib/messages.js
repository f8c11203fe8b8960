'use strict';
// Builders for every message the launcher prints. The wording lives in
// messages.json, which the Go package that writes this launcher reads too, so
// the README's troubleshooting section can be checked against it.
//
// A failure message names what is wrong, then the likely causes, each with
// the commands that fix it for the way this copy was installed (ctx.mgr, from
// manager.js): fixes run in the project directory get "cd <dir> && " in front
// when the launcher runs elsewhere.

const catalog = require('./messages.json').messages;

// Contexts whose fixes run inside the project (or global directory) the
// package manager installed into.
const PROJECT_CONTEXTS = ['npm', 'pnpm', 'yarn', 'yarn-berry', 'yarn-pnp', 'bun'];

// fill replaces {key} placeholders whose key is in vars; unknown ones stay.
function fill(template, vars) {
  return template.replace(/\{([A-Za-z]+)\}/g, (whole, key) =>
    Object.prototype.hasOwnProperty.call(vars, key) ? String(vars[key]) : whole);
}

function entry(kind, id) {
  for (const m of catalog) {
    if (m.kind === kind && m.id === id) return m;
  }
  throw new Error('messages.json has no ' + kind + ' "' + id + '"');
}

function has(kind, id) {
  return catalog.some((m) => m.kind === kind && m.id === id);
}

function manifestVars(manifest) {
  return {
    name: manifest.name,
    version: manifest.version,
    binary: manifest.binary,
    envOverride: manifest.envOverride,
  };
}

// catalogFor renders every entry's manifest placeholders: the text a README
// can quote. Run-time placeholders ({host}, {path}, ...) are left as they are.
function catalogFor(manifest) {
  const vars = manifestVars(manifest);
  return catalog.map((m) => {
    const out = { id: m.id, kind: m.kind, text: fill(m.text, vars) };
    if (m.fixes) {
      out.fixes = {};
      for (const k of Object.keys(m.fixes)) out.fixes[k] = m.fixes[k].map((f) => fill(f, vars));
    }
    return out;
  });
}

function text(manifest, kind, id, extra) {
  return fill(entry(kind, id).text, Object.assign(manifestVars(manifest), extra || {}));
}

// shellQuote quotes a value for a POSIX shell when it needs it.
function shellQuote(s) {
  const v = String(s);
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(v)) return v;
  return "'" + v.replace(/'/g, "'\\''") + "'";
}

// fixesFor picks a cause's fixes for ctx: the package manager's own, else the
// shell's (posix or windows). It returns [] when the cause does not apply to
// this way of installing.
function fixesFor(manifest, cause, ctx) {
  const win = ctx.platform === 'win32';
  const mgr = ctx.mgr || { id: 'npm', root: ctx.cwd };
  let list = cause.fixes[mgr.id];
  let project = PROJECT_CONTEXTS.indexOf(mgr.id) !== -1;
  if (!list) {
    list = cause.fixes[win ? 'windows' : 'posix'];
    project = false;
  }
  if (!list) return [];
  const quoted = {};
  for (const k of ['path', 'root', 'packageDir']) {
    const v = ctx[k];
    if (v === undefined) continue;
    const q = (x) => (win ? x : shellQuote(x));
    quoted[k] = Array.isArray(v) ? v.map(q).join(' ') : q(v);
  }
  if (quoted.root === undefined && mgr.root) quoted.root = win ? mgr.root : shellQuote(mgr.root);
  const vars = Object.assign(manifestVars(manifest), ctx.vars || {}, quoted);
  const cd = project && mgr.root && ctx.cwd && mgr.root !== ctx.cwd ? 'cd ' + shellQuote(mgr.root) + ' && ' : '';
  return list.map((f) => cd + fill(f, vars));
}

// causeLines renders likely causes, each an id or {id, ctx} with its own
// run-time values; causes without a fix for this way of installing are left
// out.
function causeLines(manifest, items, ctx) {
  const shown = [];
  for (const item of items) {
    const id = typeof item === 'string' ? item : item.id;
    const ictx = typeof item === 'string' ? ctx : Object.assign({}, ctx, item.ctx);
    const c = entry('cause', id);
    const fixes = fixesFor(manifest, c, ictx);
    if (fixes.length > 0) shown.push({ text: fill(c.text, Object.assign(manifestVars(manifest), ictx.vars || {})), fixes });
  }
  const lines = [shown.length > 1 ? 'Likely causes:' : 'Likely cause:'];
  for (const s of shown) {
    lines.push('  - ' + s.text);
    s.fixes.forEach((f, i) => {
      lines.push((i === 0 ? '    Fix: ' : '     or: ') + f);
    });
  }
  return lines;
}

// managerLines says which package manager installed the package, and where:
// what the fixes below are for.
function managerLines(manifest, ctx) {
  if (!ctx.mgr) return [];
  return [text(manifest, 'notice', 'installedWith', {
    manager: entry('context', ctx.mgr.id).text,
    root: ctx.mgr.root,
  })];
}

function list(title, items) {
  return [title].concat(items.map((s) => '  ' + s));
}

function join(lines) {
  return lines.join('\n') + '\n';
}

// hostLabel describes a machine the way messages show it, in the terms of
// the target names: "linux-x64, musl", "windows-ia32".
function hostLabel(facts) {
  const os = facts.platform === 'win32' ? 'windows' : facts.platform;
  const base = os + '-' + facts.arch;
  if (facts.platform !== 'linux') return base;
  return base + ', ' + (facts.libc || 'unknown libc');
}

// problem renders why a file cannot run ({problem, vars} from binary.check).
function problem(manifest, p) {
  return text(manifest, 'problem', p.problem, p.vars);
}

function notInstalled(manifest, ctx) {
  return join([text(manifest, 'headline', 'notInstalled', { host: ctx.host })]
    .concat(list('Looked for:', ctx.looked))
    .concat(managerLines(manifest, ctx))
    .concat(causeLines(manifest, ['omitOptional', 'lockfileOtherOS'], ctx))
    .concat([text(manifest, 'notice', 'overrideHint')]));
}

function copiedNodeModules(manifest, ctx) {
  return join([text(manifest, 'headline', 'copiedNodeModules', { host: ctx.host })]
    .concat(list('Looked for:', ctx.looked))
    .concat(list('Found instead:', ctx.found))
    .concat(managerLines(manifest, ctx))
    .concat(causeLines(manifest, ['copiedNodeModules'], ctx)));
}

// versionMismatch lists the packages found at another version. With pins
// found (manager.findPins) it names them and the pin is the cause; without,
// an unfinished upgrade comes first and pins second, saying where this
// package manager keeps them.
function versionMismatch(manifest, ctx) {
  const lines = [text(manifest, 'headline', 'versionMismatch')]
    .concat(list('Found:', ctx.mismatched.map((m) => m.package + '@' + m.version)));
  const byPlace = {};
  for (const p of ctx.pins || []) {
    const key = p.field + '\n' + p.file;
    (byPlace[key] = byPlace[key] || { field: p.field, file: p.file, texts: [] }).texts.push(p.text);
  }
  for (const key of Object.keys(byPlace)) {
    const b = byPlace[key];
    lines.push.apply(lines, list(text(manifest, 'notice', 'pinnedBy', { field: JSON.stringify(b.field), file: b.file }), b.texts));
  }
  lines.push.apply(lines, managerLines(manifest, ctx));
  const id = ctx.mgr && has('pins', ctx.mgr.id) ? ctx.mgr.id : null;
  const pctx = Object.assign({}, ctx, { vars: { pins: id ? entry('pins', id).text : '' } });
  const causes = ctx.pins && ctx.pins.length > 0 ? ['versionPinned'] : ['versionMismatch', 'versionPinned'];
  return join(lines.concat(causeLines(manifest, causes, pctx)));
}

function binaryMissing(manifest, ctx) {
  return join([text(manifest, 'headline', 'binaryMissing')]
    .concat(list('Missing:', ctx.missing.map((m) => m.path + ' (from ' + m.package + ')')))
    .concat(managerLines(manifest, ctx))
    .concat(causeLines(manifest, ['reinstallPackage'], Object.assign({}, ctx, { packageDir: ctx.missing.map((m) => m.packageDir) }))));
}

// binaryBroken reports the candidates whose binary cannot run, the first in
// the headline; a lost execute bit has its own cause and fix.
function binaryBroken(manifest, ctx) {
  const b = ctx.broken[0];
  const lines = [text(manifest, 'headline', 'binaryBroken', { package: b.package, problem: problem(manifest, b.problem) }),
    '  ' + b.path];
  for (const other of ctx.broken.slice(1)) {
    lines.push(text(manifest, 'notice', 'alsoBroken', { package: other.package, problem: problem(manifest, other.problem) }));
    lines.push('  ' + other.path);
  }
  const causes = [];
  const seen = {};
  for (const x of ctx.broken) {
    const id = x.problem.problem === 'notExecutable' ? 'lostExecute' : 'reinstallPackage';
    if (seen[id]) {
      seen[id].ctx.path.push(x.path);
      seen[id].ctx.packageDir.push(x.packageDir);
      continue;
    }
    seen[id] = { id, ctx: { path: [x.path], packageDir: [x.packageDir] } };
    causes.push(seen[id]);
  }
  return join(lines.concat(managerLines(manifest, ctx)).concat(causeLines(manifest, causes, ctx)));
}

function unsupportedPlatform(manifest, ctx) {
  return join([text(manifest, 'headline', 'unsupportedPlatform', { host: ctx.host })]
    .concat(['Supported targets: ' + ctx.supported.join(', ')])
    .concat(causeLines(manifest, ['unsupportedPlatform'], Object.assign({}, ctx, { mgr: null }))));
}

function overrideBad(manifest, ctx) {
  return join([text(manifest, 'headline', 'overrideBad', { path: ctx.path, problem: problem(manifest, ctx.problem) })]
    .concat(causeLines(manifest, ['overrideBad'], Object.assign({}, ctx, { mgr: null }))));
}

// spawnFailed: the system refused a binary that passed the checks.
function spawnFailed(manifest, ctx) {
  const head = text(manifest, 'headline', 'spawnFailed', { path: ctx.path, error: ctx.error });
  if (ctx.override) {
    return join([head].concat(causeLines(manifest, ['overrideBad'], Object.assign({}, ctx, { mgr: null }))));
  }
  return join([head].concat(managerLines(manifest, ctx))
    .concat(causeLines(manifest, ['reinstallPackage'], ctx)));
}

function sigillFallback(manifest, ctx) {
  return join([text(manifest, 'notice', 'sigillFallback', { from: ctx.from, to: ctx.to })]);
}

// fallback is the one line saying which build runs instead of the preferred
// one, and why: reason is {id, vars} of a "reason" entry.
function fallback(manifest, ctx) {
  const vars = Object.assign({}, ctx.reason.vars || {});
  if (ctx.reason.problem) vars.problem = problem(manifest, ctx.reason.problem);
  const reason = text(manifest, 'reason', ctx.reason.id, vars);
  return join([text(manifest, 'notice', 'fallback', { from: ctx.from, to: ctx.to, reason })]);
}

module.exports = {
  PROJECT_CONTEXTS,
  catalogFor,
  hostLabel,
  shellQuote,
  problem,
  notInstalled,
  copiedNodeModules,
  versionMismatch,
  binaryMissing,
  binaryBroken,
  unsupportedPlatform,
  overrideBad,
  spawnFailed,
  sigillFallback,
  fallback,
};
