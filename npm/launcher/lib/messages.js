'use strict';
// Builders for every message the launcher prints. The wording lives in
// messages.json, which the Go package that writes this launcher reads too, so
// the README's troubleshooting section can be checked against it.

const catalog = require('./messages.json').messages;

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
    if (m.fixes) out.fixes = m.fixes.map((f) => fill(f, vars));
    return out;
  });
}

function text(manifest, kind, id, extra) {
  return fill(entry(kind, id).text, Object.assign(manifestVars(manifest), extra || {}));
}

function causeLines(manifest, ids) {
  const vars = manifestVars(manifest);
  const lines = [ids.length > 1 ? 'Likely causes:' : 'Likely cause:'];
  for (const id of ids) {
    const c = entry('cause', id);
    lines.push('  - ' + fill(c.text, vars));
    c.fixes.forEach((f, i) => {
      lines.push((i === 0 ? '    Fix: ' : '     or: ') + fill(f, vars));
    });
  }
  return lines;
}

function list(title, items) {
  return [title].concat(items.map((s) => '  ' + s));
}

function join(lines) {
  return lines.join('\n') + '\n';
}

// hostLabel describes a machine the way messages show it: "linux-x64, musl".
function hostLabel(facts) {
  const base = facts.platform + '-' + facts.arch;
  if (facts.platform !== 'linux') return base;
  return base + ', ' + (facts.libc || 'unknown libc');
}

function notInstalled(manifest, ctx) {
  return join([text(manifest, 'headline', 'notInstalled', { host: ctx.host })]
    .concat(list('Looked for:', ctx.looked))
    .concat(causeLines(manifest, ['omitOptional', 'lockfileOtherOS']))
    .concat([text(manifest, 'notice', 'overrideHint')]));
}

function copiedNodeModules(manifest, ctx) {
  return join([text(manifest, 'headline', 'copiedNodeModules', { host: ctx.host })]
    .concat(list('Looked for:', ctx.looked))
    .concat(list('Found instead:', ctx.found))
    .concat(causeLines(manifest, ['copiedNodeModules'])));
}

function versionMismatch(manifest, ctx) {
  return join([text(manifest, 'headline', 'versionMismatch')]
    .concat(list('Found:', ctx.mismatched.map((m) => m.package + '@' + m.version)))
    .concat(causeLines(manifest, ['versionMismatch'])));
}

function binaryMissing(manifest, ctx) {
  return join([text(manifest, 'headline', 'binaryMissing')]
    .concat(list('Missing:', ctx.missing.map((m) => m.path + ' (from ' + m.package + ')')))
    .concat(causeLines(manifest, ['binaryMissing'])));
}

function unsupportedPlatform(manifest, ctx) {
  return join([text(manifest, 'headline', 'unsupportedPlatform', { host: ctx.host })]
    .concat(['Supported targets: ' + ctx.supported.join(', ')])
    .concat(causeLines(manifest, ['unsupportedPlatform'])));
}

function overrideMissing(manifest, ctx) {
  return join([text(manifest, 'headline', 'overrideMissing', { path: ctx.path })]
    .concat(causeLines(manifest, ['overrideMissing'])));
}

function spawnFailed(manifest, ctx) {
  return join([text(manifest, 'headline', 'spawnFailed', { path: ctx.path, error: ctx.error })]
    .concat(causeLines(manifest, ['spawnFailed'])));
}

function sigillFallback(manifest, ctx) {
  return join([text(manifest, 'notice', 'sigillFallback', { from: ctx.from, to: ctx.to })]);
}

module.exports = {
  catalogFor,
  hostLabel,
  notInstalled,
  copiedNodeModules,
  versionMismatch,
  binaryMissing,
  unsupportedPlatform,
  overrideMissing,
  spawnFailed,
  sigillFallback,
};
