'use strict';
// ELF interpreter parsing, ldd output reading, the real host, and the
// message catalogue.

const test = require('node:test');
const assert = require('node:assert/strict');
const detect = require('../lib/detect.js');
const messages = require('../lib/messages.js');
const { realHost } = require('../lib/host.js');
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
  await t.test('manifest placeholders are all filled', () => {
    for (const m of catalog) {
      for (const s of [m.text].concat(m.fixes || [])) {
        assert.doesNotMatch(s, /\{(name|version|binary|envOverride)\}/, m.id);
      }
    }
  });
  await t.test('every cause has a fix and every id is unique per kind', () => {
    const seen = new Set();
    for (const m of catalog) {
      assert.ok(['headline', 'cause', 'notice'].includes(m.kind), m.kind);
      assert.ok(!seen.has(m.kind + ':' + m.id), 'duplicate ' + m.id);
      seen.add(m.kind + ':' + m.id);
      if (m.kind === 'cause') assert.ok(m.fixes && m.fixes.length > 0, m.id + ' has no fix');
    }
  });
  await t.test('fix commands', () => {
    const fixes = {};
    for (const m of catalog) if (m.kind === 'cause') fixes[m.id] = m.fixes;
    assert.deepEqual(fixes, {
      omitOptional: ['npm install agent-facets', 'npm install --include=optional'],
      lockfileOtherOS: ['rm -rf node_modules package-lock.json && npm install'],
      copiedNodeModules: ['rm -rf node_modules && npm install'],
      versionMismatch: ['npm install agent-facets@1.2.3'],
      binaryMissing: ['rm -rf node_modules && npm install'],
      unsupportedPlatform: ['export FACET_BIN_PATH=/path/to/facet'],
      overrideMissing: ['unset FACET_BIN_PATH'],
      spawnFailed: ['rm -rf node_modules && npm install'],
    });
  });
  await t.test('SIGILL notice', () => {
    assert.equal(messages.sigillFallback(manifest, { from: '@agent-facets/cli-linux-x64', to: '@agent-facets/cli-linux-x64-baseline' }),
      'agent-facets: @agent-facets/cli-linux-x64 stopped with an illegal instruction (SIGILL): this CPU lacks an instruction that build needs (usually AVX2). Trying @agent-facets/cli-linux-x64-baseline instead.\n');
  });
});
