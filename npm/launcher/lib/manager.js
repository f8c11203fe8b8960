'use strict';
// Which package manager installed the CLI package, and where, so that a
// failure message prints the command that repairs this install: a command
// for another package manager, or one run in the wrong directory, repairs
// nothing (and `rm -rf node_modules` in an unrelated directory does harm).
// Pure functions over an injected host (see host.js).

const path = require('path');

// The context ids that messages.json keys fixes by, one per way of
// installing.
const MANAGERS = ['npm', 'npm-global', 'npx', 'pnpm', 'yarn', 'yarn-berry', 'yarn-pnp', 'bun'];

function toSlash(p) {
  return p.split(path.sep).join('/');
}

// Where the project that holds a package directory starts: everything before
// its first node_modules segment.
function beforeNodeModules(dir) {
  const s = toSlash(dir);
  const i = s.indexOf('/node_modules/');
  return i === -1 ? null : dir.slice(0, i);
}

// fromUserAgent reads npm_config_user_agent, which every package manager
// sets for the scripts and bins it runs: "pnpm/10.0.0 npm/? node/v22...".
function fromUserAgent(ua) {
  const m = /^(npm|pnpm|yarn|bun)\/(\d+)/.exec(ua || '');
  if (!m) return null;
  if (m[1] === 'yarn') return Number(m[2]) >= 2 ? 'yarn-berry' : 'yarn';
  return m[1];
}

// detectManager returns {id, root, via}: id is one of MANAGERS, root the
// directory the repair commands run in (the project, or the global prefix's
// lib directory), via what decided. The package directory's layout decides
// first, since the package manager that wrote node_modules is the one whose
// bookkeeping must be repaired; the user agent of the package manager that
// is running the CLI comes next, npm last.
function detectManager(host) {
  const dir = host.packageDir;
  const s = toSlash(dir);
  const pnp = host.pnpApi && host.pnpApi();
  if (pnp) return { id: 'yarn-pnp', root: path.dirname(pnp), via: 'pnpapi' };
  for (const [marker, id] of [['/node_modules/.pnpm/', 'pnpm'], ['/node_modules/.bun/', 'bun']]) {
    const i = s.indexOf(marker);
    if (i !== -1) return { id, root: dir.slice(0, i), via: 'layout' };
  }
  const root = beforeNodeModules(dir);
  const ua = fromUserAgent(host.env.npm_config_user_agent);
  if (root === null) return { id: ua || 'npm', root: host.cwd(), via: ua ? 'user agent' : 'default' };
  const has = (rel) => host.exists(path.join(root, rel));
  if (/\/_npx\/[^/]+$/.test(toSlash(root))) return { id: 'npx', root, via: 'layout' };
  const markers = [
    ['node_modules/.package-lock.json', 'npm'],
    ['node_modules/.yarn-integrity', 'yarn'],
    ['node_modules/.yarn-state.yml', 'yarn-berry'],
    ['node_modules/.modules.yaml', 'pnpm'],
  ];
  for (const [rel, id] of markers) {
    if (has(rel)) return { id, root, via: rel };
  }
  if (has('bun.lock') || has('bun.lockb')) return { id: 'bun', root, via: 'bun.lock' };
  // npm's global prefix: <prefix>/lib/node_modules (node_modules directly
  // under the prefix on Windows), with no package.json of its own.
  if (!has('package.json') && (path.basename(root) === 'lib' || host.platform === 'win32')) {
    return { id: 'npm-global', root, via: 'layout' };
  }
  if (has('pnpm-lock.yaml')) return { id: 'pnpm', root, via: 'pnpm-lock.yaml' };
  if (has('yarn.lock')) return { id: has('.yarnrc.yml') ? 'yarn-berry' : 'yarn', root, via: 'yarn.lock' };
  if (has('package-lock.json')) return { id: 'npm', root, via: 'package-lock.json' };
  return { id: ua || 'npm', root, via: ua ? 'user agent' : 'default' };
}

function readJSON(host, file) {
  const buf = host.readFile(file);
  if (!buf) return null;
  try {
    return JSON.parse(String(buf));
  } catch (e) {
    return null;
  }
}

// Where each package manager reads version pins from package.json.
const PIN_FIELDS = {
  npm: [['overrides']],
  pnpm: [['pnpm', 'overrides'], ['resolutions']],
  yarn: [['resolutions']],
  'yarn-berry': [['resolutions']],
  'yarn-pnp': [['resolutions']],
  bun: [['overrides'], ['resolutions']],
};

// A pin key names the package alone ("@s/p", "@s/p@1"), or at the end of a
// path ("**/@s/p", "parent/@s/p", "parent>@s/p").
function keyPins(key, pkg) {
  const k = key.replace(/@[^@/]*$/, (v) => (v === key ? v : ''));
  return k === pkg || k.endsWith('/' + pkg) || k.endsWith('>' + pkg);
}

function findInObject(obj, pkg, trail, out) {
  if (!obj || typeof obj !== 'object') return;
  for (const key of Object.keys(obj)) {
    const value = obj[key];
    if (keyPins(key, pkg) && typeof value === 'string') out.push({ key, value, trail });
    if (value && typeof value === 'object') findInObject(value, pkg, trail.concat([key]), out);
  }
}

// findPins lists the pins of pkg for the package manager mgr (from
// detectManager): [{file, field, text}], text as it would appear in the file.
// pnpm also reads overrides from pnpm-workspace.yaml, scanned line by line.
function findPins(host, mgr, pkg) {
  const pins = [];
  const pj = path.join(mgr.root, 'package.json');
  const doc = readJSON(host, pj);
  for (const field of PIN_FIELDS[mgr.id] || []) {
    let at = doc;
    for (const k of field) at = at && typeof at === 'object' ? at[k] : undefined;
    const found = [];
    findInObject(at, pkg, [], found);
    for (const f of found) {
      pins.push({ file: pj, field: field.join('.'), text: JSON.stringify(f.key) + ': ' + JSON.stringify(f.value) });
    }
  }
  if (mgr.id === 'pnpm') {
    const ws = path.join(mgr.root, 'pnpm-workspace.yaml');
    const buf = host.readFile(ws);
    let inOverrides = false;
    for (const line of buf ? String(buf).split(/\r?\n/) : []) {
      if (/^\S/.test(line)) inOverrides = /^overrides\s*:/.test(line);
      else if (inOverrides) {
        // "  '@scope/name': 1.2.3", "  \"a>@scope/name\": 1", "  name@1: 2"
        const m = /^\s+(['"]?)(.+?)\1\s*:(\s|$)/.exec(line);
        if (m && keyPins(m[2], pkg)) pins.push({ file: ws, field: 'overrides', text: line.trim() });
      }
    }
  }
  return pins;
}

module.exports = { MANAGERS, detectManager, fromUserAgent, findPins, keyPins };
