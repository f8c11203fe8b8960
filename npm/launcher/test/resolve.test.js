'use strict';
// Resolution over injected hosts: every platform table row, each libc
// signal, AVX2 present and absent, the override variable, and every failure
// message.

const test = require('node:test');
const assert = require('node:assert/strict');
const { resolveBinary, candidates, hostFacts } = require('../lib/resolve.js');
const { loadFixture, fakeHost, cpuinfo, makeElf, program, NODE_MODULES } = require('./helpers.js');

const manifest = loadFixture();

const GLIBC = { glibcRuntime: '2.36' };
const MUSL = { files: ['/etc/alpine-release'] };

// installedLikeNpm installs what npm picks for a host: every package whose
// os, cpu and libc match, at the manifest's version.
function installedLikeNpm(os, cpu, libc, version) {
  const out = {};
  for (const p of manifest.packages) {
    if (p.os === os && p.cpu === cpu && (p.libc || undefined) === (libc || undefined)) {
      out[p.package] = { version: version || manifest.version, bin: p.bin };
    }
  }
  return out;
}

function avx2Signals(os, avx2) {
  if (os === 'linux') return { cpuinfo: cpuinfo(avx2) };
  if (os === 'darwin') {
    return {
      commands: {
        'sysctl -n machdep.cpu.leaf7_features': {
          status: 0, stdout: avx2 ? 'RDWRFSGS TSC_THREAD_OFFSET BMI1 AVX2 SMEP BMI2 ERMS\n' : 'RDWRFSGS BMI1 SMEP ERMS\n', stderr: '',
        },
      },
    };
  }
  return {};
}

function names(result) {
  return result.binaries.map((b) => b.package);
}

test('every platform table row resolves to its own package', async (t) => {
  assert.equal(manifest.packages.length, 12);
  for (const row of manifest.packages) {
    await t.test(row.target, () => {
      const libcSignals = row.os === 'linux' ? (row.libc === 'musl' ? MUSL : GLIBC) : {};
      const host = fakeHost(Object.assign({
        platform: row.os,
        arch: row.cpu,
        installed: installedLikeNpm(row.os, row.cpu, row.libc),
      }, libcSignals, avx2Signals(row.os, !row.baseline)));
      const r = resolveBinary(manifest, host);
      assert.equal(r.ok, true, r.message);
      assert.equal(r.override, false);
      const exe = row.os === 'win32' ? 'facet.exe' : 'facet';
      if (row.os === 'win32' && row.baseline) {
        // Windows cannot tell AVX2 cheaply: the full build runs first and the
        // baseline build is the illegal-instruction fallback.
        assert.deepEqual(names(r), ['@agent-facets/cli-windows-x64', '@agent-facets/cli-windows-x64-baseline']);
        return;
      }
      assert.equal(r.binaries[0].package, row.package);
      assert.equal(r.binaries[0].target, row.target);
      assert.equal(r.binaries[0].binPath, NODE_MODULES + '/' + row.package + '/bin/' + exe);
      assert.equal(r.binaries[0].version, '1.2.3');
      if (row.cpu === 'x64') {
        assert.equal(r.binaries.length, 2, 'the other x64 build is the fallback');
        assert.notEqual(r.binaries[1].package, row.package);
      } else {
        assert.equal(r.binaries.length, 1);
      }
    });
  }
});

test('candidates order', async (t) => {
  const cases = [
    { facts: { platform: 'linux', arch: 'x64', libc: 'glibc', avx2: true }, want: ['linux-x64', 'linux-x64-baseline'] },
    { facts: { platform: 'linux', arch: 'x64', libc: 'glibc', avx2: false }, want: ['linux-x64-baseline', 'linux-x64'] },
    { facts: { platform: 'linux', arch: 'x64', libc: 'glibc', avx2: null }, want: ['linux-x64', 'linux-x64-baseline'] },
    { facts: { platform: 'linux', arch: 'x64', libc: 'musl', avx2: false }, want: ['linux-x64-baseline-musl', 'linux-x64-musl'] },
    { facts: { platform: 'linux', arch: 'arm64', libc: 'musl' }, want: ['linux-arm64-musl'] },
    { facts: { platform: 'linux', arch: 'arm64', libc: null }, want: ['linux-arm64', 'linux-arm64-musl'] },
    { facts: { platform: 'linux', arch: 'x64', libc: null, avx2: true }, want: ['linux-x64', 'linux-x64-baseline', 'linux-x64-musl', 'linux-x64-baseline-musl'] },
    { facts: { platform: 'darwin', arch: 'x64', avx2: false }, want: ['darwin-x64-baseline', 'darwin-x64'] },
    { facts: { platform: 'darwin', arch: 'arm64' }, want: ['darwin-arm64'] },
    { facts: { platform: 'win32', arch: 'x64', avx2: null }, want: ['windows-x64', 'windows-x64-baseline'] },
    { facts: { platform: 'win32', arch: 'arm64' }, want: ['windows-arm64'] },
    { facts: { platform: 'freebsd', arch: 'x64' }, want: [] },
    { facts: { platform: 'linux', arch: 'ia32', libc: 'glibc' }, want: [] },
  ];
  for (const c of cases) {
    await t.test(JSON.stringify(c.facts), () => {
      assert.deepEqual(candidates(manifest, c.facts).map((p) => p.target), c.want);
    });
  }
});

test('libc: each signal alone decides', async (t) => {
  const muslLdd = { status: 1, stdout: '', stderr: 'musl libc (x86_64)\nVersion 1.2.4\nDynamic Program Loader\n' };
  const glibcLdd = { status: 0, stdout: 'ldd (Debian GLIBC 2.36-9+deb12u4) 2.36\nCopyright (C) 2022 Free Software Foundation, Inc.\n', stderr: '' };
  const cases = [
    { name: 'report header glibcVersionRuntime', host: { glibcRuntime: '2.36' }, libc: 'glibc', via: 'report', runs: [] },
    { name: 'ELF interpreter ld-musl', host: { nodeElf: makeElf({ interp: '/lib/ld-musl-x86_64.so.1' }) }, libc: 'musl', via: 'elf', runs: [] },
    { name: 'ELF interpreter ld-linux', host: { nodeElf: makeElf({ interp: '/lib64/ld-linux-x86-64.so.2' }) }, libc: 'glibc', via: 'elf', runs: [] },
    { name: '/etc/alpine-release', host: { files: ['/etc/alpine-release'] }, libc: 'musl', via: 'alpine-release', runs: [] },
    { name: 'ldd --version on stderr (musl)', host: { commands: { 'ldd --version': muslLdd } }, libc: 'musl', via: 'ldd', runs: ['ldd --version'] },
    { name: 'ldd --version on stdout (glibc)', host: { commands: { 'ldd --version': glibcLdd } }, libc: 'glibc', via: 'ldd', runs: ['ldd --version'] },
    { name: 'no ldd and no other signal', host: {}, libc: null, via: null, runs: ['ldd --version'] },
    { name: 'statically linked node, then alpine-release', host: { nodeElf: makeElf({}), files: ['/etc/alpine-release'] }, libc: 'musl', via: 'alpine-release', runs: [] },
    { name: 'report wins over a musl loader', host: { glibcRuntime: '2.31', nodeElf: makeElf({ interp: '/lib/ld-musl-x86_64.so.1' }) }, libc: 'glibc', via: 'report', runs: [] },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const host = fakeHost(Object.assign({ platform: 'linux', arch: 'arm64' }, c.host));
      const facts = hostFacts(manifest, host);
      assert.equal(facts.libc, c.libc);
      assert.equal(facts.libcVia, c.via);
      assert.deepEqual(host.calls, c.runs);
    });
  }
});

test('libc unknown without ldd: glibc first, then musl, whichever is installed', async (t) => {
  const cases = [
    { installed: installedLikeNpm('linux', 'arm64', 'musl'), want: ['@agent-facets/cli-linux-arm64-musl'] },
    { installed: installedLikeNpm('linux', 'arm64', 'glibc'), want: ['@agent-facets/cli-linux-arm64'] },
    {
      installed: Object.assign(installedLikeNpm('linux', 'arm64', 'glibc'), installedLikeNpm('linux', 'arm64', 'musl')),
      want: ['@agent-facets/cli-linux-arm64', '@agent-facets/cli-linux-arm64-musl'],
    },
  ];
  for (const c of cases) {
    await t.test(c.want.join(' '), () => {
      const r = resolveBinary(manifest, fakeHost({ platform: 'linux', arch: 'arm64', installed: c.installed }));
      assert.equal(r.ok, true, r.message);
      assert.deepEqual(names(r), c.want);
    });
  }
});

test('AVX2 detection', async (t) => {
  const darwin = (leaf7, opt) => {
    const commands = {};
    if (leaf7 !== undefined) commands['sysctl -n machdep.cpu.leaf7_features'] = leaf7;
    if (opt !== undefined) commands['sysctl -n hw.optional.avx2_0'] = opt;
    return { platform: 'darwin', arch: 'x64', commands };
  };
  const ok = (stdout) => ({ status: 0, stdout, stderr: '' });
  const cases = [
    { name: 'linux cpuinfo with avx2', host: { platform: 'linux', arch: 'x64', cpuinfo: cpuinfo(true) }, avx2: true, first: 'linux-x64' },
    { name: 'linux cpuinfo without avx2', host: { platform: 'linux', arch: 'x64', cpuinfo: cpuinfo(false) }, avx2: false, first: 'linux-x64-baseline' },
    { name: 'linux cpuinfo unreadable', host: { platform: 'linux', arch: 'x64' }, avx2: null, first: 'linux-x64' },
    { name: 'macOS leaf7 has AVX2', host: darwin(ok('SMEP ERMS AVX2 BMI2\n')), avx2: true, first: 'darwin-x64' },
    { name: 'macOS leaf7 lacks AVX2', host: darwin(ok('SMEP ERMS\n')), avx2: false, first: 'darwin-x64-baseline' },
    { name: 'macOS hw.optional.avx2_0 = 0', host: darwin({ status: 1, stdout: '', stderr: 'unknown oid' }, ok('0\n')), avx2: false, first: 'darwin-x64-baseline' },
    { name: 'macOS hw.optional.avx2_0 = 1', host: darwin(undefined, ok('1\n')), avx2: true, first: 'darwin-x64' },
    { name: 'macOS no sysctl', host: darwin(), avx2: null, first: 'darwin-x64' },
    { name: 'Windows assumes AVX2', host: { platform: 'win32', arch: 'x64' }, avx2: null, first: 'windows-x64' },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const libc = c.host.platform === 'linux' ? GLIBC : {};
      const host = fakeHost(Object.assign({}, libc, c.host));
      const facts = hostFacts(manifest, host);
      assert.equal(facts.avx2, c.avx2);
      assert.equal(candidates(manifest, facts)[0].target, c.first);
    });
  }
  await t.test('arm64 never asks', () => {
    const host = fakeHost({ platform: 'darwin', arch: 'arm64' });
    assert.equal(hostFacts(manifest, host).avx2, null);
    assert.deepEqual(host.calls, []);
  });
});

test('override variable', async (t) => {
  await t.test('names an existing program: used as is, nothing else consulted', () => {
    const host = fakeHost({
      platform: 'linux', arch: 'riscv64',
      env: { FACET_BIN_PATH: '/opt/facet/facet' }, programs: { '/opt/facet/facet': {} },
    });
    const r = resolveBinary(manifest, host);
    assert.equal(r.ok, true, r.message);
    assert.equal(r.override, true);
    assert.deepEqual(r.binaries.map((b) => b.binPath), ['/opt/facet/facet']);
    assert.deepEqual(r.notices, []);
    assert.deepEqual(host.calls, []);
  });
  await t.test('wins over installed packages', () => {
    const r = resolveBinary(manifest, fakeHost(Object.assign({
      platform: 'linux', arch: 'arm64', installed: installedLikeNpm('linux', 'arm64', 'glibc'),
      env: { FACET_BIN_PATH: '/opt/facet' }, programs: { '/opt/facet': {} },
    }, GLIBC)));
    assert.equal(r.binaries[0].binPath, '/opt/facet');
  });
  await t.test('empty value is ignored', () => {
    const r = resolveBinary(manifest, fakeHost(Object.assign({
      platform: 'linux', arch: 'arm64', installed: installedLikeNpm('linux', 'arm64', 'glibc'), env: { FACET_BIN_PATH: '' },
    }, GLIBC)));
    assert.equal(r.override, false);
  });
  await t.test('an x64 program on Apple silicon runs (Rosetta)', () => {
    const r = resolveBinary(manifest, fakeHost({
      platform: 'darwin', arch: 'arm64', env: { FACET_BIN_PATH: '/opt/facet' },
      programs: { '/opt/facet': { content: program('darwin', 'x64') } },
    }));
    assert.equal(r.ok, true, r.message);
  });

  const cause = [
    'Likely cause:',
    '  - FACET_BIN_PATH overrides the installed binary; it must name a facet executable for this machine. Point it at one, or unset it to use the installed package.',
  ];
  const posixFix = ['    Fix: unset FACET_BIN_PATH', ''];
  const cases = [
    { name: 'a missing file', host: {}, problem: 'no file exists there' },
    { name: 'a directory', host: { dirs: ['/opt/facet'] }, problem: 'it is a directory, not a file' },
    { name: 'a file without execute permission', host: { programs: { '/opt/facet': { mode: 0o644 } } }, problem: 'it is not executable (mode 644)' },
    { name: 'an empty file', host: { programs: { '/opt/facet': { content: Buffer.alloc(0) } } }, problem: 'it is empty (0 bytes)' },
    { name: 'a text file', host: { programs: { '/opt/facet': { content: Buffer.from('<html>Not found</html>\n') } } }, problem: 'it is not a program (no executable header)' },
    { name: 'a program for another CPU', host: { programs: { '/opt/facet': { content: program('linux', 'arm64') } } }, problem: 'it is built for arm64, not for this x64 machine' },
    { name: 'a macOS program', host: { programs: { '/opt/facet': { content: program('darwin', 'x64') } } }, problem: 'it is a Mach-O program, for macOS, not Linux' },
  ];
  for (const c of cases) {
    await t.test('names ' + c.name, () => {
      const r = resolveBinary(manifest, fakeHost(Object.assign({ platform: 'linux', arch: 'x64', env: { FACET_BIN_PATH: '/opt/facet' } }, c.host)));
      assert.equal(r.ok, false);
      assert.equal(r.kind, 'overrideBad');
      assert.equal(r.message, ['agent-facets: FACET_BIN_PATH is set to /opt/facet, but ' + c.problem + '.'].concat(cause, posixFix).join('\n'));
    });
  }
  await t.test('on Windows the fix is PowerShell, then cmd.exe', () => {
    const r = resolveBinary(manifest, fakeHost({ platform: 'win32', arch: 'x64', env: { FACET_BIN_PATH: 'C:\\tools\\facet.exe' } }));
    assert.equal(r.message, ['agent-facets: FACET_BIN_PATH is set to C:\\tools\\facet.exe, but no file exists there.'].concat(cause, [
      '    Fix: Remove-Item Env:FACET_BIN_PATH',
      '     or: set FACET_BIN_PATH=',
      '',
    ]).join('\n'));
  });
});

test('failure messages', async (t) => {
  const linuxX64 = (extra) => fakeHost(Object.assign({ platform: 'linux', arch: 'x64', cpuinfo: cpuinfo(true) }, GLIBC, extra));
  const npmLine = 'Installed with npm in /app.';

  await t.test('not installed: --omit=optional and lockfile from another OS', () => {
    const r = resolveBinary(manifest, linuxX64({}));
    assert.equal(r.ok, false);
    assert.equal(r.kind, 'notInstalled');
    assert.equal(r.message, [
      'agent-facets: none of the platform packages for this machine (linux-x64, glibc) is installed.',
      'Looked for:',
      '  @agent-facets/cli-linux-x64',
      '  @agent-facets/cli-linux-x64-baseline',
      npmLine,
      'Likely causes:',
      '  - Optional dependencies were skipped (npm install --omit=optional or --no-optional, pnpm install --no-optional, yarn install --ignore-optional, bun install --omit=optional, or the same setting in a configuration file); agent-facets ships its binary as an optional dependency. Install again with optional dependencies.',
      '    Fix: npm install --include=optional',
      '  - The lockfile was made on another operating system or CPU, and npm left out this machine\'s optional dependencies (npm/cli#4828). Delete both and install again.',
      '    Fix: rm -rf node_modules package-lock.json && npm install',
      'To run a facet binary from elsewhere, set FACET_BIN_PATH to its path.',
      '',
    ].join('\n'));
  });

  await t.test('not installed, run from elsewhere: the fix starts with cd', () => {
    const r = resolveBinary(manifest, linuxX64({ cwd: '/home/me/other project' }));
    assert.ok(r.message.includes("    Fix: cd /app && npm install --include=optional\n"), r.message);
  });

  await t.test('not installed by pnpm: only the pnpm cause and fix', () => {
    const r = resolveBinary(manifest, linuxX64({
      packageDir: '/app/node_modules/.pnpm/agent-facets@1.2.3/node_modules/agent-facets', cwd: '/app/src',
    }));
    assert.equal(r.message.split('\n').slice(4).join('\n'), [
      'Installed with pnpm in /app.',
      'Likely cause:',
      '  - Optional dependencies were skipped (npm install --omit=optional or --no-optional, pnpm install --no-optional, yarn install --ignore-optional, bun install --omit=optional, or the same setting in a configuration file); agent-facets ships its binary as an optional dependency. Install again with optional dependencies.',
      '    Fix: cd /app && pnpm install',
      'To run a facet binary from elsewhere, set FACET_BIN_PATH to its path.',
      '',
    ].join('\n'));
  });

  await t.test('node_modules copied from another machine names what it found', () => {
    const installed = Object.assign(installedLikeNpm('darwin', 'arm64'), installedLikeNpm('linux', 'x64', 'musl'));
    const r = resolveBinary(manifest, linuxX64({ installed }));
    assert.equal(r.kind, 'copiedNodeModules');
    assert.equal(r.message, [
      'agent-facets: this node_modules holds the agent-facets binaries of other platforms, not for this machine (linux-x64, glibc).',
      'Looked for:',
      '  @agent-facets/cli-linux-x64',
      '  @agent-facets/cli-linux-x64-baseline',
      'Found instead:',
      '  @agent-facets/cli-linux-x64-musl',
      '  @agent-facets/cli-linux-x64-baseline-musl',
      '  @agent-facets/cli-darwin-arm64',
      npmLine,
      'Likely cause:',
      '  - node_modules was installed on another machine or OS (for example outside a container) and copied here. Install on this machine instead of copying node_modules.',
      '    Fix: rm -rf node_modules && npm install',
      '',
    ].join('\n'));
  });

  const unfinished = [
    '  - An upgrade did not finish: agent-facets and its platform package must have the same version. Install agent-facets 1.2.3 again.',
    '    Fix: npm install agent-facets@1.2.3',
  ];
  const pinned = [
    '  - The platform package is pinned to another version ("overrides" in package.json), so installing agent-facets again changes nothing: agent-facets and its platform package must have the same version. Remove the pin, then install again.',
    '    Fix: npm install',
  ];

  await t.test('every build at another version, no pin: the upgrade, then where pins live', () => {
    const r = resolveBinary(manifest, linuxX64({ installed: installedLikeNpm('linux', 'x64', 'glibc', '1.2.2') }));
    assert.equal(r.kind, 'versionMismatch');
    assert.equal(r.message, [
      'agent-facets: version mismatch: agent-facets is 1.2.3 but its platform package is not.',
      'Found:',
      '  @agent-facets/cli-linux-x64@1.2.2',
      '  @agent-facets/cli-linux-x64-baseline@1.2.2',
      npmLine,
      'Likely causes:',
    ].concat(unfinished, pinned, ['']).join('\n'));
  });

  await t.test('pinned by npm overrides: names the pins and says to remove them', () => {
    const r = resolveBinary(manifest, linuxX64({
      installed: installedLikeNpm('linux', 'x64', 'glibc', '1.2.2'),
      jsonFiles: { '/app/package.json': { overrides: { '@agent-facets/cli-linux-x64': '1.2.2', 'agent-facets': { '@agent-facets/cli-linux-x64-baseline@1': '1.2.2' } } } },
    }));
    assert.equal(r.message, [
      'agent-facets: version mismatch: agent-facets is 1.2.3 but its platform package is not.',
      'Found:',
      '  @agent-facets/cli-linux-x64@1.2.2',
      '  @agent-facets/cli-linux-x64-baseline@1.2.2',
      'Pinned by "overrides" in /app/package.json:',
      '  "@agent-facets/cli-linux-x64": "1.2.2"',
      '  "@agent-facets/cli-linux-x64-baseline@1": "1.2.2"',
      npmLine,
      'Likely cause:',
    ].concat(pinned, ['']).join('\n'));
  });

  const pinCases = [
    { mgr: 'pnpm', packageDir: '/app/node_modules/.pnpm/agent-facets@1.2.3/node_modules/agent-facets',
      files: { '/app/pnpm-workspace.yaml': "packages: []\noverrides:\n  '@agent-facets/cli-linux-x64': 1.2.2\nonlyBuiltDependencies: []\n" },
      pins: ['Pinned by "overrides" in /app/pnpm-workspace.yaml:', "  '@agent-facets/cli-linux-x64': 1.2.2"],
      where: '"overrides" in pnpm-workspace.yaml, or "pnpm.overrides" or "resolutions" in package.json', fix: 'pnpm install' },
    { mgr: 'pnpm', packageDir: '/app/node_modules/.pnpm/agent-facets@1.2.3/node_modules/agent-facets',
      files: { '/app/package.json': { pnpm: { overrides: { '@agent-facets/cli-linux-x64': '1.2.2' } } } },
      pins: ['Pinned by "pnpm.overrides" in /app/package.json:', '  "@agent-facets/cli-linux-x64": "1.2.2"'],
      where: '"overrides" in pnpm-workspace.yaml, or "pnpm.overrides" or "resolutions" in package.json', fix: 'pnpm install' },
    { mgr: 'Yarn 1', marker: '/app/node_modules/.yarn-integrity',
      files: { '/app/package.json': { resolutions: { '**/@agent-facets/cli-linux-x64': '1.2.2' } } },
      pins: ['Pinned by "resolutions" in /app/package.json:', '  "**/@agent-facets/cli-linux-x64": "1.2.2"'],
      where: '"resolutions" in package.json', fix: 'yarn install' },
    { mgr: 'Bun', marker: '/app/bun.lock',
      files: { '/app/package.json': { overrides: { '@agent-facets/cli-linux-x64': '1.2.2' } } },
      pins: ['Pinned by "overrides" in /app/package.json:', '  "@agent-facets/cli-linux-x64": "1.2.2"'],
      where: '"overrides" or "resolutions" in package.json', fix: 'bun install' },
  ];
  for (const c of pinCases) {
    await t.test('pinned, installed with ' + c.mgr + ': ' + c.pins[0], () => {
      const installed = { '@agent-facets/cli-linux-x64': { version: '1.2.2' } };
      const r = resolveBinary(manifest, linuxX64({ installed, packageDir: c.packageDir, files: c.marker ? [c.marker] : [], jsonFiles: c.files }));
      assert.equal(r.message, [
        'agent-facets: version mismatch: agent-facets is 1.2.3 but its platform package is not.',
        'Found:',
        '  @agent-facets/cli-linux-x64@1.2.2',
      ].concat(c.pins, [
        'Installed with ' + c.mgr + ' in /app.',
        'Likely cause:',
        '  - The platform package is pinned to another version (' + c.where + '), so installing agent-facets again changes nothing: agent-facets and its platform package must have the same version. Remove the pin, then install again.',
        '    Fix: ' + c.fix,
        '',
      ]).join('\n'));
    });
  }

  await t.test('installed package without its binary', () => {
    const installed = { '@agent-facets/cli-linux-x64': { version: '1.2.3', binary: false } };
    const r = resolveBinary(manifest, linuxX64({ installed }));
    assert.equal(r.kind, 'binaryMissing');
    assert.equal(r.message, [
      'agent-facets: the platform package is installed but its facet binary is missing.',
      'Missing:',
      '  /app/node_modules/@agent-facets/cli-linux-x64/bin/facet (from @agent-facets/cli-linux-x64)',
      npmLine,
      'Likely cause:',
      '  - The install was interrupted, or the installed file was changed or damaged since. Install the package again.',
      '    Fix: rm -rf node_modules/@agent-facets/cli-linux-x64 && npm install',
      '',
    ].join('\n'));
  });

  const reinstall = [
    'Likely cause:',
    '  - The install was interrupted, or the installed file was changed or damaged since. Install the package again.',
  ];
  const brokenCases = [
    { name: 'empty', content: Buffer.alloc(0), problem: 'it is empty (0 bytes)' },
    { name: 'not a program', content: Buffer.from('\0\0\0\0garbage that is long enough to be read as a header, but is none\n'), problem: 'it is not a program (no executable header)' },
    { name: 'another CPU', content: program('linux', 'arm64'), problem: 'it is built for arm64, not for this x64 machine' },
    { name: 'another OS', content: program('win32', 'x64'), problem: 'it is a PE program, for Windows, not Linux' },
    { name: 'truncated', content: makeElf({ machine: 62, shoff: 4096 }), problem: null },
  ];
  for (const c of brokenCases) {
    await t.test('every build broken: ' + c.name, () => {
      const installed = installedLikeNpm('linux', 'x64', 'glibc');
      for (const k of Object.keys(installed)) installed[k].content = c.content;
      const r = resolveBinary(manifest, linuxX64({ installed }));
      assert.equal(r.kind, 'binaryBroken');
      const problem = c.problem || 'it is truncated (' + c.content.length + ' bytes, where its headers need ' + (4096 + 64 * 3) + ')';
      assert.equal(r.message, [
        'agent-facets: the facet binary of @agent-facets/cli-linux-x64 cannot run: ' + problem + '.',
        '  /app/node_modules/@agent-facets/cli-linux-x64/bin/facet',
        'Also: the facet binary of @agent-facets/cli-linux-x64-baseline cannot run: ' + problem + '.',
        '  /app/node_modules/@agent-facets/cli-linux-x64-baseline/bin/facet',
        npmLine,
      ].concat(reinstall, ['    Fix: rm -rf node_modules/@agent-facets/cli-linux-x64 node_modules/@agent-facets/cli-linux-x64-baseline && npm install', '']).join('\n'));
    });
  }

  await t.test('every build without execute permission: chmod, for all of them', () => {
    const installed = installedLikeNpm('linux', 'x64', 'glibc');
    for (const k of Object.keys(installed)) installed[k].mode = 0o644;
    const r = resolveBinary(manifest, linuxX64({ installed }));
    assert.equal(r.message, [
      'agent-facets: the facet binary of @agent-facets/cli-linux-x64 cannot run: it is not executable (mode 644).',
      '  /app/node_modules/@agent-facets/cli-linux-x64/bin/facet',
      'Also: the facet binary of @agent-facets/cli-linux-x64-baseline cannot run: it is not executable (mode 644).',
      '  /app/node_modules/@agent-facets/cli-linux-x64-baseline/bin/facet',
      npmLine,
      'Likely cause:',
      '  - The file lost its execute permission (copied or unpacked by a tool that drops file modes, or changed by hand); pnpm and bun share installed files between projects, so their store keeps the change. Make it executable again.',
      '    Fix: chmod +x /app/node_modules/@agent-facets/cli-linux-x64/bin/facet /app/node_modules/@agent-facets/cli-linux-x64-baseline/bin/facet',
      '',
    ].join('\n'));
  });

  await t.test('a musl build in a glibc package: the loader is missing', () => {
    const content = makeElf({ machine: 62, interp: '/lib/ld-musl-x86_64.so.1' });
    const installed = { '@agent-facets/cli-linux-x64': { version: '1.2.3', content } };
    const r = resolveBinary(manifest, linuxX64({ installed }));
    assert.equal(r.message.split('\n')[0],
      'agent-facets: the facet binary of @agent-facets/cli-linux-x64 cannot run: it needs /lib/ld-musl-x86_64.so.1, which this system does not have (a build for another C library).');
  });

  await t.test('a project path with spaces is quoted in the fix', () => {
    const r = resolveBinary(manifest, linuxX64({ packageDir: "/my app's/node_modules/agent-facets", cwd: '/tmp' }));
    assert.ok(r.message.includes("Installed with npm in /my app's.\n"), r.message);
    assert.ok(r.message.includes("    Fix: cd '/my app'\\''s' && npm install --include=optional\n"), r.message);
  });

  const supported = 'Supported targets: linux-arm64, linux-x64, linux-x64-baseline, linux-arm64-musl, linux-x64-musl, ' +
    'linux-x64-baseline-musl, darwin-arm64, darwin-x64, darwin-x64-baseline, windows-arm64, windows-x64, windows-x64-baseline';
  const unsupportedCause = [
    'Likely cause:',
    '  - agent-facets does not ship a binary for this operating system, CPU or C library. Build facet from source and point FACET_BIN_PATH at it.',
  ];
  await t.test('unsupported platform lists the supported targets', () => {
    const r = resolveBinary(manifest, fakeHost({ platform: 'freebsd', arch: 'x64' }));
    assert.equal(r.kind, 'unsupportedPlatform');
    assert.equal(r.message, ['agent-facets: there is no facet binary for this platform (freebsd-x64).', supported]
      .concat(unsupportedCause, ['    Fix: export FACET_BIN_PATH=/path/to/facet', '']).join('\n'));
  });
  await t.test('unsupported Linux architecture shows the libc', () => {
    const r = resolveBinary(manifest, fakeHost(Object.assign({ platform: 'linux', arch: 'ia32' }, MUSL)));
    assert.equal(r.kind, 'unsupportedPlatform');
    assert.equal(r.message.split('\n')[0], 'agent-facets: there is no facet binary for this platform (linux-ia32, musl).');
  });
  await t.test('unsupported Windows: named like the targets, fixed in PowerShell or cmd.exe', () => {
    const r = resolveBinary(manifest, fakeHost({ platform: 'win32', arch: 'ia32' }));
    assert.equal(r.message, ['agent-facets: there is no facet binary for this platform (windows-ia32).', supported]
      .concat(unsupportedCause, [
        '    Fix: $env:FACET_BIN_PATH = "C:\\path\\to\\facet.exe"',
        '     or: set FACET_BIN_PATH=C:\\path\\to\\facet.exe',
        '',
      ]).join('\n'));
  });
});

test('fallbacks to the twin build say which runs and why, in one line', async (t) => {
  const linuxX64 = (extra) => fakeHost(Object.assign({ platform: 'linux', arch: 'x64', cpuinfo: cpuinfo(true) }, GLIBC, extra));
  const notice = (reason) => 'agent-facets: @agent-facets/cli-linux-x64 ' + reason +
    '; running @agent-facets/cli-linux-x64-baseline instead.\n';
  const cases = [
    { name: 'AVX2 build not installed', change: (i) => { delete i['@agent-facets/cli-linux-x64']; }, reason: 'is not installed' },
    { name: 'AVX2 build without its binary', change: (i) => { i['@agent-facets/cli-linux-x64'].binary = false; }, reason: 'has no facet binary' },
    { name: 'AVX2 build not executable', change: (i) => { i['@agent-facets/cli-linux-x64'].mode = 0o644; }, reason: 'cannot run: it is not executable (mode 644)' },
    { name: 'AVX2 build empty', change: (i) => { i['@agent-facets/cli-linux-x64'].content = Buffer.alloc(0); }, reason: 'cannot run: it is empty (0 bytes)' },
    { name: 'AVX2 build pinned to another version', change: (i) => { i['@agent-facets/cli-linux-x64'].version = '1.2.2'; }, reason: 'is version 1.2.2, not 1.2.3' },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const installed = installedLikeNpm('linux', 'x64', 'glibc');
      c.change(installed);
      const r = resolveBinary(manifest, linuxX64({ installed }));
      assert.equal(r.ok, true, r.message);
      assert.deepEqual(names(r), ['@agent-facets/cli-linux-x64-baseline']);
      assert.deepEqual(r.notices, [notice(c.reason)]);
    });
  }
  await t.test('the preferred build runs: no notice, the broken twin is no fallback', () => {
    const installed = installedLikeNpm('linux', 'x64', 'glibc');
    installed['@agent-facets/cli-linux-x64-baseline'].mode = 0o644;
    const r = resolveBinary(manifest, linuxX64({ installed }));
    assert.deepEqual(names(r), ['@agent-facets/cli-linux-x64']);
    assert.deepEqual(r.notices, []);
  });
  await t.test('without AVX2 the baseline build is preferred: no notice', () => {
    const r = resolveBinary(manifest, linuxX64({ cpuinfo: cpuinfo(false), installed: installedLikeNpm('linux', 'x64', 'glibc') }));
    assert.deepEqual(names(r), ['@agent-facets/cli-linux-x64-baseline', '@agent-facets/cli-linux-x64']);
    assert.deepEqual(r.notices, []);
  });
  await t.test('libc unknown and only the musl build installed: no notice', () => {
    const r = resolveBinary(manifest, fakeHost({ platform: 'linux', arch: 'arm64', installed: installedLikeNpm('linux', 'arm64', 'musl') }));
    assert.deepEqual(names(r), ['@agent-facets/cli-linux-arm64-musl']);
    assert.deepEqual(r.notices, []);
  });
});
