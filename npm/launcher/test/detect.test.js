'use strict';
// ELF interpreter parsing, ldd output reading, the real host, and the
// message catalogue.

const test = require('node:test');
const assert = require('node:assert/strict');
const detect = require('../lib/detect.js');
const messages = require('../lib/messages.js');
const { realHost } = require('../lib/host.js');
const { MANAGERS } = require('../lib/manager.js');
const { makeElf, loadFixture } = require('./helpers.js');

test('elfInterpreter', async (t) => {
  const musl = '/lib/ld-musl-aarch64.so.1';
  const cases = [
    { name: '64-bit little-endian', buf: makeElf({ bits: 64, le: true, interp: musl }), want: musl },
    { name: '64-bit big-endian', buf: makeElf({ bits: 64, le: false, interp: musl }), want: musl },
    { name: '32-bit little-endian', buf: makeElf({ bits: 32, le: true, interp: '/lib/ld-linux-armhf.so.3' }), want: '/lib/ld-linux-armhf.so.3' },
    { name: '32-bit big-endian', buf: makeElf({ bits: 32, le: false, interp: '/lib/ld.so.1' }), want: '/lib/ld.so.1' },
    { name: 'static (no PT_INTERP)', buf: makeElf({}), want: null },
    { name: 'not ELF', buf: Buffer.from('#!/bin/sh\necho hello, this is long enough to be parsed as a header\n'), want: null },
    { name: 'truncated before the interpreter', buf: makeElf({ interp: musl }).subarray(0, 130), want: null },
    { name: 'empty', buf: Buffer.alloc(0), want: null },
    { name: 'null', buf: null, want: null },
  ];
  for (const c of cases) {
    await t.test(c.name, () => assert.equal(detect.elfInterpreter(c.buf), c.want));
  }
});

test('libcFromInterpreter and libcFromLdd', () => {
  assert.equal(detect.libcFromInterpreter('/lib/ld-musl-x86_64.so.1'), 'musl');
  assert.equal(detect.libcFromInterpreter('/lib64/ld-linux-x86-64.so.2'), 'glibc');
  assert.equal(detect.libcFromInterpreter('/libexec/ld-elf.so.1'), null);
  assert.equal(detect.libcFromLdd(null), null);
  assert.equal(detect.libcFromLdd({ status: 1, stdout: '', stderr: 'musl libc (aarch64)\nVersion 1.2.5\n' }), 'musl');
  assert.equal(detect.libcFromLdd({ status: 0, stdout: 'ldd (GNU libc) 2.39\n', stderr: '' }), 'glibc');
  assert.equal(detect.libcFromLdd({ status: 1, stdout: '', stderr: 'ldd: unrecognized option\n' }), null);
});

test('the real Node executable has a readable interpreter on Linux', { skip: process.platform !== 'linux' }, () => {
  const host = realHost();
  const interp = detect.elfInterpreter(host.readFile(process.execPath, detect.ELF_HEAD_BYTES));
  if (interp === null) return; // a statically linked Node has none
  assert.match(interp, /ld-(musl|linux)/);
  const libc = detect.detectLibc(host).libc;
  assert.ok(libc === 'glibc' || libc === 'musl', 'libc = ' + libc);
});

test('the real host answers every question without throwing', () => {
  const host = realHost();
  assert.equal(host.platform, process.platform);
  assert.equal(host.resolve('definitely-not-installed-pkg/package.json'), null);
  assert.equal(host.readFile('/definitely/not/here'), null);
  assert.equal(host.exists(__filename), true);
  assert.equal(host.run('definitely-not-a-command-xyz', []), null);
  assert.equal(host.inspect(__filename).type, 'file');
  assert.equal(host.inspect(__filename).size, require('fs').statSync(__filename).size);
  assert.equal(host.inspect(__dirname).type, 'directory');
  assert.equal(host.inspect('/definitely/not/here').type, 'missing');
  assert.equal(host.inspect(process.execPath).executable, true);
  assert.equal(host.pnpApi(), null);
  assert.equal(host.packageDir, require('path').join(__dirname, '..'));
  detect.detectAVX2(host);
  detect.detectLibc(host);
});

test('message catalogue', async (t) => {
  const manifest = loadFixture();
  const catalog = messages.catalogFor(manifest);
  const contexts = catalog.filter((m) => m.kind === 'context').map((m) => m.id);
  await t.test('manifest placeholders are all filled', () => {
    for (const m of catalog) {
      let strs = [m.text];
      for (const k of Object.keys(m.fixes || {})) strs = strs.concat(m.fixes[k]);
      for (const s of strs) assert.doesNotMatch(s, /\{(name|version|binary|envOverride)\}/, m.id);
    }
  });
  await t.test('every cause has a fix for known contexts and every id is unique per kind', () => {
    const seen = new Set();
    for (const m of catalog) {
      assert.ok(['headline', 'cause', 'notice', 'problem', 'reason', 'context', 'pins'].includes(m.kind), m.kind);
      assert.ok(!seen.has(m.kind + ':' + m.id), 'duplicate ' + m.id);
      seen.add(m.kind + ':' + m.id);
      if (m.kind !== 'cause') continue;
      assert.ok(Object.keys(m.fixes).length > 0, m.id + ' has no fix');
      for (const k of Object.keys(m.fixes)) assert.ok(contexts.includes(k), m.id + ': unknown context ' + k);
    }
  });
  await t.test('every package manager the launcher detects has a label and a reinstall fix', () => {
    const reinstall = catalog.find((m) => m.kind === 'cause' && m.id === 'reinstallPackage');
    for (const id of MANAGERS) {
      assert.ok(contexts.includes(id), id);
      assert.ok(reinstall.fixes[id], id);
    }
  });
  await t.test('SIGILL notice', () => {
    assert.equal(messages.sigillFallback(manifest, { from: '@agent-facets/cli-linux-x64', to: '@agent-facets/cli-linux-x64-baseline' }),
      'agent-facets: @agent-facets/cli-linux-x64 stopped with an illegal instruction (SIGILL): this CPU lacks an instruction that build needs (usually AVX2). Trying @agent-facets/cli-linux-x64-baseline instead.\n');
  });
  await t.test('shell quoting', () => {
    assert.equal(messages.shellQuote('/usr/lib/node_modules/@s/p'), '/usr/lib/node_modules/@s/p');
    assert.equal(messages.shellQuote('/a b'), "'/a b'");
    assert.equal(messages.shellQuote("it's"), "'it'\\''s'");
  });
  await t.test('host labels use target names', () => {
    assert.equal(messages.hostLabel({ platform: 'win32', arch: 'ia32' }), 'windows-ia32');
    assert.equal(messages.hostLabel({ platform: 'darwin', arch: 'x64' }), 'darwin-x64');
    assert.equal(messages.hostLabel({ platform: 'linux', arch: 'x64', libc: null }), 'linux-x64, unknown libc');
  });
});
