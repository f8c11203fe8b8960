'use strict';
// End-to-end runs of the real bin/facet.js in temporary node_modules layouts
// with shell-script stand-ins for the native binary: the SIGILL fallback,
// exit codes, signal propagation and forwarding, and failures.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const childProcess = require('child_process');
const { hostFacts, candidates } = require('../lib/resolve.js');
const { realHost } = require('../lib/host.js');
const { writeLauncherPackage, writePlatformPackage } = require('./helpers.js');

const posix = process.platform !== 'win32';
const VERSION = '1.2.3';

// A manifest with two builds for this very machine, so the layout resolves on
// whatever host runs the tests. The order the launcher will try them in comes
// from the same code, with this machine's real AVX2 answer.
function hostManifest(builds) {
  const host = realHost();
  const base = { name: 'agent-facets', version: VERSION, binary: 'facet', envOverride: 'FACET_BIN_PATH', packages: [] };
  const probe = Object.assign({}, base, { packages: [{ os: host.platform, cpu: host.arch, baseline: true }] });
  const libc = host.platform === 'linux' ? (hostFacts(probe, host).libc || 'glibc') : undefined;
  const kinds = [['fast', false], ['baseline', true], ['extra', false]].slice(0, builds || 2);
  for (const [suffix, baseline] of kinds) {
    const p = {
      target: 'host-' + suffix, package: '@agent-facets/cli-host-' + suffix,
      os: host.platform, cpu: host.arch, baseline, bin: 'bin/facet',
    };
    if (libc) p.libc = libc;
    base.packages.push(p);
  }
  const order = candidates(base, hostFacts(base, host)).map((p) => p.package);
  return { manifest: base, first: order[0], second: order[1], third: order[2] };
}

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'facet-launcher-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return fs.realpathSync(dir);
}

// layout writes <root>/node_modules/agent-facets and one platform package per
// entry of scripts ({package: shell body}); versions override VERSION.
function layout(root, manifest, scripts, versions) {
  const nm = path.join(root, 'node_modules');
  const bin = writeLauncherPackage(path.join(nm, 'agent-facets'), manifest);
  for (const name of Object.keys(scripts)) {
    writePlatformPackage(path.join(nm, name), name, (versions && versions[name]) || VERSION, scripts[name]);
  }
  return bin;
}

function cleanEnv(extra) {
  const env = Object.assign({}, process.env, extra || {});
  delete env.FACET_BIN_PATH;
  if (extra && extra.FACET_BIN_PATH) env.FACET_BIN_PATH = extra.FACET_BIN_PATH;
  return env;
}

// launch runs the launcher with core dumps off (a SIGILL would dump core),
// in the project directory (root/node_modules/agent-facets/bin/facet.js).
function launch(bin, args, opts) {
  return childProcess.spawnSync('/bin/sh', ['-c', 'ulimit -c 0; exec "$0" "$@"', process.execPath, bin].concat(args), {
    cwd: (opts && opts.cwd) || path.resolve(bin, '..', '..', '..', '..'),
    encoding: 'utf8',
    timeout: 30000,
    env: cleanEnv(opts && opts.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

const SIGILL = 'ulimit -c 0; kill -ILL $$';
const PRINT = 'printf "facet %s" "' + VERSION + '"; printf " [%s]" "$@"; echo; exit 0';
const NOTICE_PHRASE = 'stopped with an illegal instruction (SIGILL)';

function count(haystack, needle) {
  return haystack.split(needle).length - 1;
}

test('SIGILL falls back to the next build, saying so once', { skip: !posix }, (t) => {
  const { manifest, first, second } = hostManifest();
  const bin = layout(tempDir(t), manifest, { [first]: SIGILL, [second]: PRINT });
  const r = launch(bin, ['--version', 'two words']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'facet 1.2.3 [--version] [two words]\n');
  assert.equal(count(r.stderr, NOTICE_PHRASE), 1, r.stderr);
  assert.equal(r.stderr, 'agent-facets: ' + first + ' ' + NOTICE_PHRASE +
    ': this CPU lacks an instruction that build needs (usually AVX2). Trying ' + second + ' instead.\n');
});

test('when every build dies of SIGILL the launcher does too, after one notice', { skip: !posix }, (t) => {
  const { manifest, first, second } = hostManifest();
  const bin = layout(tempDir(t), manifest, { [first]: SIGILL, [second]: SIGILL });
  const r = launch(bin, []);
  assert.equal(r.signal, 'SIGILL');
  assert.equal(count(r.stderr, NOTICE_PHRASE), 1, r.stderr);
});

test('three builds, two dying of SIGILL: one notice, the third runs', { skip: !posix }, (t) => {
  const { manifest, first, second, third } = hostManifest(3);
  const bin = layout(tempDir(t), manifest, { [first]: SIGILL, [second]: SIGILL, [third]: PRINT });
  const r = launch(bin, ['ok']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'facet 1.2.3 [ok]\n');
  assert.equal(count(r.stderr, NOTICE_PHRASE), 1, r.stderr);
});

test('exit codes and signals pass through', { skip: !posix }, async (t) => {
  const cases = [
    { name: 'exit 0', script: 'exit 0', status: 0, signal: null },
    { name: 'exit 3', script: 'exit 3', status: 3, signal: null },
    { name: 'exit 255', script: 'exit 255', status: 255, signal: null },
    { name: 'killed by SIGTERM', script: 'kill -TERM $$', status: null, signal: 'SIGTERM' },
    { name: 'killed by SIGKILL', script: 'kill -KILL $$', status: null, signal: 'SIGKILL' },
    { name: 'killed by SIGINT', script: 'kill -INT $$', status: null, signal: 'SIGINT' },
  ];
  const { manifest, first } = hostManifest();
  for (const c of cases) {
    await t.test(c.name, (t) => {
      const bin = layout(tempDir(t), manifest, { [first]: c.script });
      const r = launch(bin, []);
      assert.equal(r.status, c.status, r.stderr);
      assert.equal(r.signal, c.signal);
      assert.equal(r.stderr, '');
    });
  }
});

test('signals sent to the launcher alone reach the child', { skip: !posix }, async (t) => {
  const script = [
    'for s in TERM INT HUP USR1 USR2 QUIT; do trap "echo got-$s; exit 7" $s; done',
    'echo ready',
    'while read line; do :; done',
  ].join('\n');
  const { manifest, first } = hostManifest();
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGQUIT']) {
    await t.test(sig, async (t) => {
      const bin = layout(tempDir(t), manifest, { [first]: script });
      // detached: the launcher leads its own process group and has no
      // controlling terminal, and a failed forward cannot leave the
      // stand-in running after the test.
      const child = childProcess.spawn(process.execPath, [bin], {
        env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'], detached: true,
      });
      t.after(() => {
        try { process.kill(-child.pid, 'SIGKILL'); } catch (e) { /* already gone */ }
      });
      let out = '';
      let err = '';
      child.stderr.on('data', (d) => { err += d; });
      const ready = new Promise((resolve) => {
        child.stdout.on('data', (d) => {
          out += d;
          if (out.includes('ready')) resolve();
        });
      });
      const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
      await Promise.race([ready, exited]);
      child.kill(sig);
      const r = await exited;
      child.stdin.destroy();
      child.stdout.destroy();
      child.stderr.destroy();
      assert.equal(r.code, 7, 'signal: ' + r.signal + ' stdout: ' + out + ' stderr: ' + err);
      assert.equal(out, 'ready\ngot-' + sig.slice(3) + '\n');
      // SIGUSR1 reaches the binary instead of opening Node's inspector.
      assert.equal(err, '');
    });
  }
});

test('failures through the real launcher', { skip: !posix }, async (t) => {
  const { manifest, first, second } = hostManifest();

  await t.test('nothing installed', (t) => {
    const bin = layout(tempDir(t), manifest, {});
    const r = launch(bin, ['--version']);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^agent-facets: none of the platform packages for this machine \(/);
    for (const phrase of [
      '  ' + first + '\n', '  ' + second + '\n',
      '    Fix: npm install --include=optional\n',
      '    Fix: rm -rf node_modules package-lock.json && npm install\n',
    ]) assert.ok(r.stderr.includes(phrase), 'missing ' + JSON.stringify(phrase) + ' in\n' + r.stderr);
  });

  await t.test('run from another directory, the fixes start with cd', (t) => {
    const root = tempDir(t);
    const bin = layout(root, manifest, {});
    const r = launch(bin, ['--version'], { cwd: os.tmpdir() });
    assert.ok(r.stderr.includes('    Fix: cd ' + root + ' && npm install --include=optional\n'), r.stderr);
  });

  await t.test('the preferred build from another release: its twin runs, saying so', (t) => {
    const bin = layout(tempDir(t), manifest, { [first]: PRINT, [second]: PRINT }, { [first]: '1.1.0' });
    const r = launch(bin, ['--version']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'facet 1.2.3 [--version]\n');
    assert.equal(r.stderr, 'agent-facets: ' + first + ' is version 1.1.0, not 1.2.3; running ' + second + ' instead.\n');
  });

  await t.test('every build from another release', (t) => {
    const bin = layout(tempDir(t), manifest, { [first]: PRINT, [second]: PRINT }, { [first]: '1.1.0', [second]: '1.1.0' });
    const r = launch(bin, ['--version']);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.ok(r.stderr.startsWith('agent-facets: version mismatch: agent-facets is 1.2.3 but its platform package is not.\n'), r.stderr);
    assert.ok(r.stderr.includes('  ' + second + '@1.1.0\n'), r.stderr);
    assert.ok(r.stderr.includes('    Fix: npm install agent-facets@1.2.3\n'), r.stderr);
  });

  await t.test('binary without execute permission, the twin runs', (t) => {
    const root = tempDir(t);
    const bin = layout(root, manifest, { [second]: PRINT });
    writePlatformPackage(path.join(root, 'node_modules', first), first, VERSION, PRINT, 0o644);
    const r = launch(bin, []);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, 'agent-facets: ' + first + ' cannot run: it is not executable (mode 644); running ' + second + ' instead.\n');
  });

  await t.test('the only binary without execute permission', (t) => {
    const root = tempDir(t);
    const bin = layout(root, manifest, {});
    const exe = writePlatformPackage(path.join(root, 'node_modules', first), first, VERSION, PRINT, 0o644);
    const r = launch(bin, []);
    assert.equal(r.status, 1);
    assert.ok(r.stderr.startsWith('agent-facets: the facet binary of ' + first + ' cannot run: it is not executable (mode 644).\n  ' + exe + '\n'), r.stderr);
    assert.ok(r.stderr.includes('    Fix: chmod +x ' + exe + '\n'), r.stderr);
  });

  await t.test('an empty binary does not run as a shell script', (t) => {
    const root = tempDir(t);
    const bin = layout(root, manifest, {});
    const exe = writePlatformPackage(path.join(root, 'node_modules', first), first, VERSION, PRINT);
    fs.writeFileSync(exe, '');
    const r = launch(bin, ['--version']);
    assert.equal(r.status, 1);
    assert.ok(r.stderr.startsWith('agent-facets: the facet binary of ' + first + ' cannot run: it is empty (0 bytes).\n'), r.stderr);
    assert.ok(r.stderr.includes('    Fix: rm -rf node_modules/' + first + ' && npm install\n'), r.stderr);
  });

  await t.test('override names a missing file', (t) => {
    const bin = layout(tempDir(t), manifest, { [first]: PRINT });
    const r = launch(bin, [], { env: { FACET_BIN_PATH: '/nonexistent/facet' } });
    assert.equal(r.status, 1);
    assert.ok(r.stderr.startsWith('agent-facets: FACET_BIN_PATH is set to /nonexistent/facet, but no file exists there.\n'), r.stderr);
  });

  await t.test('override names a directory', (t) => {
    const root = tempDir(t);
    const bin = layout(root, manifest, { [first]: PRINT });
    const r = launch(bin, [], { env: { FACET_BIN_PATH: root } });
    assert.equal(r.status, 1);
    assert.ok(r.stderr.startsWith('agent-facets: FACET_BIN_PATH is set to ' + root + ', but it is a directory, not a file.\n'), r.stderr);
    assert.ok(r.stderr.endsWith('    Fix: unset FACET_BIN_PATH\n'), r.stderr);
  });
});

test('override runs the named binary with nothing installed', { skip: !posix }, (t) => {
  const { manifest } = hostManifest();
  const root = tempDir(t);
  const bin = layout(root, manifest, {});
  const custom = path.join(root, 'my-facet');
  fs.writeFileSync(custom, '#!/bin/sh\necho custom "$@"; exit 4\n', { mode: 0o755 });
  const r = launch(bin, ['x'], { env: { FACET_BIN_PATH: custom } });
  assert.equal(r.status, 4, r.stderr);
  assert.equal(r.stdout, 'custom x\n');
});

test('nested and pnpm layouts resolve', { skip: !posix }, async (t) => {
  const { manifest, first } = hostManifest();

  await t.test('nested under the CLI package', (t) => {
    const root = tempDir(t);
    const bin = layout(root, manifest, {});
    writePlatformPackage(path.join(root, 'node_modules', 'agent-facets', 'node_modules', first), first, VERSION, PRINT);
    const r = launch(bin, ['nested']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'facet 1.2.3 [nested]\n');
  });

  await t.test('pnpm virtual store with symlinks', (t) => {
    const root = tempDir(t);
    const store = path.join(root, 'node_modules', '.pnpm');
    const cliReal = path.join(store, 'agent-facets@' + VERSION, 'node_modules', 'agent-facets');
    writeLauncherPackage(cliReal, manifest);
    const platReal = path.join(store, first.replace('/', '+') + '@' + VERSION, 'node_modules', first);
    writePlatformPackage(platReal, first, VERSION, PRINT);
    // pnpm links a package's dependencies next to it inside the store...
    const sibling = path.join(store, 'agent-facets@' + VERSION, 'node_modules', first);
    fs.mkdirSync(path.dirname(sibling), { recursive: true });
    fs.symlinkSync(platReal, sibling, 'dir');
    // ...and only direct dependencies at the top of node_modules.
    const top = path.join(root, 'node_modules', 'agent-facets');
    fs.symlinkSync(cliReal, top, 'dir');
    const r = launch(path.join(top, 'bin', 'facet.js'), ['pnpm']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'facet 1.2.3 [pnpm]\n');
  });
});
