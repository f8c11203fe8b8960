'use strict';
// manager.js: which package manager installed the CLI package, from the
// layout it left, and where each keeps version pins.

const test = require('node:test');
const assert = require('node:assert/strict');
const { detectManager, fromUserAgent, findPins, keyPins } = require('../lib/manager.js');

// host makes a host whose CLI package is at packageDir and whose files are
// the given paths (contents for readFile in json).
function host(packageDir, files, extra) {
  const set = new Set(files || []);
  const e = extra || {};
  return {
    platform: e.platform || 'linux',
    env: e.env || {},
    packageDir,
    cwd: () => e.cwd || '/somewhere',
    pnpApi: () => e.pnp || null,
    exists: (p) => set.has(p),
    readFile: (p) => (e.json && e.json[p] !== undefined ? Buffer.from(typeof e.json[p] === 'string' ? e.json[p] : JSON.stringify(e.json[p])) : null),
  };
}

test('detectManager: each layout', async (t) => {
  const cases = [
    ['npm', host('/p/node_modules/agent-facets', ['/p/node_modules/.package-lock.json', '/p/package.json']), { id: 'npm', root: '/p', via: 'node_modules/.package-lock.json' }],
    ['npm, nested under another package', host('/p/node_modules/tool/node_modules/agent-facets', ['/p/node_modules/.package-lock.json']), { id: 'npm', root: '/p', via: 'node_modules/.package-lock.json' }],
    ['npm global', host('/usr/local/lib/node_modules/agent-facets', []), { id: 'npm-global', root: '/usr/local/lib', via: 'layout' }],
    ['npm global on Windows', host('C:/Users/me/AppData/Roaming/npm/node_modules/agent-facets', [], { platform: 'win32' }), { id: 'npm-global', root: 'C:/Users/me/AppData/Roaming/npm', via: 'layout' }],
    ['npx', host('/home/me/.npm/_npx/0123abcd/node_modules/agent-facets', ['/home/me/.npm/_npx/0123abcd/node_modules/.package-lock.json']), { id: 'npx', root: '/home/me/.npm/_npx/0123abcd', via: 'layout' }],
    ['pnpm', host('/p/node_modules/.pnpm/agent-facets@1.2.3/node_modules/agent-facets', []), { id: 'pnpm', root: '/p', via: 'layout' }],
    ['pnpm, hoisted linker', host('/p/node_modules/agent-facets', ['/p/node_modules/.modules.yaml']), { id: 'pnpm', root: '/p', via: 'node_modules/.modules.yaml' }],
    ['yarn 1', host('/p/node_modules/agent-facets', ['/p/node_modules/.yarn-integrity', '/p/yarn.lock']), { id: 'yarn', root: '/p', via: 'node_modules/.yarn-integrity' }],
    ['yarn 2+ node_modules', host('/p/node_modules/agent-facets', ['/p/node_modules/.yarn-state.yml']), { id: 'yarn-berry', root: '/p', via: 'node_modules/.yarn-state.yml' }],
    ['yarn Plug\'n\'Play', host('/p/.yarn/cache/agent-facets-npm-1.2.3-abc.zip/node_modules/agent-facets', [], { pnp: '/p/.pnp.cjs' }), { id: 'yarn-pnp', root: '/p', via: 'pnpapi' }],
    ['yarn Plug\'n\'Play, global cache', host('/home/me/.yarn/berry/cache/agent-facets-npm-1.2.3-abc.zip/node_modules/agent-facets', [], { pnp: '/p/.pnp.cjs' }), { id: 'yarn-pnp', root: '/p', via: 'pnpapi' }],
    ['bun', host('/p/node_modules/agent-facets', ['/p/bun.lock', '/p/package.json']), { id: 'bun', root: '/p', via: 'bun.lock' }],
    ['bun, binary lockfile', host('/p/node_modules/agent-facets', ['/p/bun.lockb']), { id: 'bun', root: '/p', via: 'bun.lock' }],
    ['bun, isolated linker', host('/p/node_modules/.bun/agent-facets@1.2.3/node_modules/agent-facets', []), { id: 'bun', root: '/p', via: 'layout' }],
    ['only a pnpm lockfile', host('/p/node_modules/agent-facets', ['/p/package.json', '/p/pnpm-lock.yaml']), { id: 'pnpm', root: '/p', via: 'pnpm-lock.yaml' }],
    ['only a yarn 2+ lockfile', host('/p/node_modules/agent-facets', ['/p/package.json', '/p/yarn.lock', '/p/.yarnrc.yml']), { id: 'yarn-berry', root: '/p', via: 'yarn.lock' }],
    ['only an npm lockfile', host('/p/node_modules/agent-facets', ['/p/package.json', '/p/package-lock.json']), { id: 'npm', root: '/p', via: 'package-lock.json' }],
    ['nothing but the user agent', host('/p/node_modules/agent-facets', ['/p/package.json'], { env: { npm_config_user_agent: 'bun/1.2.0 npm/? node/v22.0.0 linux x64' } }), { id: 'bun', root: '/p', via: 'user agent' }],
    ['nothing at all', host('/p/node_modules/agent-facets', ['/p/package.json']), { id: 'npm', root: '/p', via: 'default' }],
    ['a package dir outside node_modules', host('/opt/agent-facets', [], { cwd: '/work' }), { id: 'npm', root: '/work', via: 'default' }],
  ];
  for (const [name, h, want] of cases) {
    await t.test(name, () => assert.deepEqual(detectManager(h), want));
  }
});

test('fromUserAgent', () => {
  assert.equal(fromUserAgent('npm/11.19.1 node/v20.20.2 linux x64 workspaces/false'), 'npm');
  assert.equal(fromUserAgent('pnpm/12.4.2 npm/? node/? linux x64'), 'pnpm');
  assert.equal(fromUserAgent('yarn/1.22.22 npm/? node/v20.20.2 linux x64'), 'yarn');
  assert.equal(fromUserAgent('yarn/4.18.1 npm/? node/v20.20.2 linux x64'), 'yarn-berry');
  assert.equal(fromUserAgent('bun/1.4.4 npm/? node/v24.3.0 linux x64'), 'bun');
  assert.equal(fromUserAgent(undefined), null);
  assert.equal(fromUserAgent('deno/2'), null);
});

test('keyPins', () => {
  const p = '@agent-facets/cli-linux-x64';
  for (const k of [p, p + '@1.2.3', p + '@^1', '**/' + p, 'agent-facets/' + p, 'agent-facets>' + p]) assert.ok(keyPins(k, p), k);
  for (const k of [p + '-baseline', '@agent-facets/cli-linux-x64-musl', 'agent-facets', 'x' + p]) assert.ok(!keyPins(k, p), k);
});

test('findPins: where each package manager reads them', async (t) => {
  const pkg = '@agent-facets/cli-linux-x64';
  const pj = {
    overrides: { [pkg]: '1.2.2', 'agent-facets': { [pkg + '@1']: '1.2.1' } },
    resolutions: { ['**/' + pkg]: '1.2.0' },
    pnpm: { overrides: { [pkg]: '1.1.0' } },
  };
  const ws = "packages:\n  - 'a'\noverrides:\n  '@agent-facets/cli-linux-x64': 1.0.0\n  '@agent-facets/cli-linux-x64-baseline': 1.0.0\n  \"agent-facets>@agent-facets/cli-linux-x64\": 1.0.1\n  other: 1.0.0\ncatalog:\n  '@agent-facets/cli-linux-x64': 9.9.9\n";
  const at = (id) => findPins(host('/p/node_modules/agent-facets', [], { json: { '/p/package.json': pj, '/p/pnpm-workspace.yaml': ws } }), { id, root: '/p' }, pkg);
  const overrides = [
    { file: '/p/package.json', field: 'overrides', text: '"@agent-facets/cli-linux-x64": "1.2.2"' },
    { file: '/p/package.json', field: 'overrides', text: '"@agent-facets/cli-linux-x64@1": "1.2.1"' },
  ];
  const resolutions = [{ file: '/p/package.json', field: 'resolutions', text: '"**/@agent-facets/cli-linux-x64": "1.2.0"' }];
  await t.test('npm: overrides', () => assert.deepEqual(at('npm'), overrides));
  await t.test('yarn: resolutions', () => {
    for (const id of ['yarn', 'yarn-berry', 'yarn-pnp']) assert.deepEqual(at(id), resolutions);
  });
  await t.test('bun: overrides and resolutions', () => assert.deepEqual(at('bun'), overrides.concat(resolutions)));
  await t.test('pnpm: pnpm.overrides, resolutions and pnpm-workspace.yaml', () => assert.deepEqual(at('pnpm'), [
    { file: '/p/package.json', field: 'pnpm.overrides', text: '"@agent-facets/cli-linux-x64": "1.1.0"' },
  ].concat(resolutions, [
    { file: '/p/pnpm-workspace.yaml', field: 'overrides', text: "'@agent-facets/cli-linux-x64': 1.0.0" },
    { file: '/p/pnpm-workspace.yaml', field: 'overrides', text: '"agent-facets>@agent-facets/cli-linux-x64": 1.0.1' },
  ])));
  await t.test('global installs have none', () => {
    assert.deepEqual(at('npm-global'), []);
    assert.deepEqual(at('npx'), []);
  });
  await t.test('no package.json', () => {
    assert.deepEqual(findPins(host('/p/node_modules/agent-facets', []), { id: 'npm', root: '/p' }, pkg), []);
  });
});
