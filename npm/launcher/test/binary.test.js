'use strict';
// binary.js: program headers of every format the targets use, and each way
// a file can fail to be a program for this machine.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const binary = require('../lib/binary.js');
const { realHost } = require('../lib/host.js');
const { makeElf, program } = require('./helpers.js');

function file(content, mode) {
  const m = mode === undefined ? 0o755 : mode;
  return { type: 'file', size: content.length, mode: m, executable: (m & 0o111) !== 0, head: content.subarray(0, binary.HEAD_BYTES) };
}

// machO builds a thin 64-bit Mach-O image with one LC_SEGMENT_64 whose file
// range ends at end.
function machO(cpu, end) {
  const buf = Buffer.alloc(32 + 72);
  buf.writeUInt32LE(0xfeedfacf, 0);
  buf.writeUInt32LE(cpu, 4);
  buf.writeUInt32LE(1, 16); // ncmds
  buf.writeUInt32LE(72, 20); // sizeofcmds
  buf.writeUInt32LE(0x19, 32); // LC_SEGMENT_64
  buf.writeUInt32LE(72, 36);
  buf.writeUInt32LE(0, 32 + 40); // fileoff
  buf.writeUInt32LE(end, 32 + 48); // filesize
  return buf;
}

// fat builds a universal header over the given [cputype, offset, size].
function fat(slices) {
  const buf = Buffer.alloc(8 + slices.length * 20);
  buf.writeUInt32BE(0xcafebabe, 0);
  buf.writeUInt32BE(slices.length, 4);
  slices.forEach(([cpu, off, size], i) => {
    buf.writeUInt32BE(cpu, 8 + i * 20);
    buf.writeUInt32BE(off, 8 + i * 20 + 8);
    buf.writeUInt32BE(size, 8 + i * 20 + 12);
  });
  return buf;
}

// pe builds a PE32+ image with one section whose raw data ends at end.
function pe(machine, end) {
  const buf = Buffer.alloc(64 + 24 + 240 + 40);
  buf.write('MZ', 0, 'latin1');
  buf.writeUInt32LE(64, 0x3c);
  buf.write('PE\0\0', 64, 'latin1');
  buf.writeUInt16LE(machine, 68);
  buf.writeUInt16LE(1, 70); // sections
  buf.writeUInt16LE(240, 84); // SizeOfOptionalHeader
  buf.writeUInt16LE(0x20b, 88); // PE32+
  const sec = 64 + 24 + 240;
  buf.writeUInt32LE(end - 512, sec + 16); // SizeOfRawData
  buf.writeUInt32LE(512, sec + 20); // PointerToRawData
  return buf;
}

function padTo(buf, n) {
  return Buffer.concat([buf, Buffer.alloc(Math.max(0, n - buf.length))]);
}

const linuxX64 = { platform: 'linux', arch: 'x64' };

test('identify: every format the targets use', () => {
  assert.deepEqual(binary.identify(makeElf({ machine: 62 })), { format: 'ELF', arch: 'x64', need: 120, interp: null });
  assert.equal(binary.identify(makeElf({ machine: 183, interp: '/lib/ld-musl-aarch64.so.1' })).interp, '/lib/ld-musl-aarch64.so.1');
  assert.equal(binary.identify(makeElf({ machine: 183, le: false, bits: 32 })).arch, 'arm64');
  assert.deepEqual(binary.identify(machO(0x0100000c, 4096)), { format: 'Mach-O', arch: 'arm64', arches: ['arm64'], need: 4096 });
  assert.deepEqual(binary.identify(fat([[0x01000007, 4096, 1000], [0x0100000c, 8192, 2000]])),
    { format: 'Mach-O', arches: ['x64', 'arm64'], need: 10192, arch: 'x64+arm64' });
  assert.deepEqual(binary.identify(pe(0xaa64, 4096)), { format: 'PE', arch: 'arm64', need: 4096 });
  assert.deepEqual(binary.identify(Buffer.from('#!/bin/sh\necho hi\n')), { format: 'script' });
  assert.equal(binary.identify(Buffer.from('<!doctype html><title>404</title>')), null);
  assert.equal(binary.identify(Buffer.alloc(0)), null);
  // A Java class file shares the universal header's magic.
  const javaClass = Buffer.alloc(64);
  javaClass.writeUInt32BE(0xcafebabe, 0);
  javaClass.writeUInt32BE(0x00000041, 4);
  assert.equal(binary.identify(javaClass), null);
});

test('check: runnable files', async (t) => {
  const cases = [
    ['ELF x64 on linux-x64', makeElf({ machine: 62 }), linuxX64],
    ['script on linux', Buffer.from('#!/bin/sh\nexit 0\n'), linuxX64],
    ['Mach-O arm64 on darwin-arm64', machO(0x0100000c, 104), { platform: 'darwin', arch: 'arm64' }],
    ['universal binary on darwin-x64', padTo(fat([[0x01000007, 64, 64], [0x0100000c, 128, 64]]), 192), { platform: 'darwin', arch: 'x64' }],
    ['PE x64 on win32-x64', padTo(pe(0x8664, 1024), 1024), { platform: 'win32', arch: 'x64' }],
  ];
  for (const [name, content, facts] of cases) {
    await t.test(name, () => assert.equal(binary.check(file(content), facts), null));
  }
  await t.test('Windows has no execute bit', () => {
    assert.equal(binary.check(file(padTo(pe(0x8664, 1024), 1024), 0o644), { platform: 'win32', arch: 'x64' }), null);
  });
});

test('check: each problem', async (t) => {
  const cases = [
    ['missing', { type: 'missing' }, linuxX64, { problem: 'missing', vars: {} }],
    ['directory', { type: 'directory' }, linuxX64, { problem: 'directory', vars: {} }],
    ['a device', { type: 'other' }, linuxX64, { problem: 'notFile', vars: {} }],
    ['empty', file(Buffer.alloc(0)), linuxX64, { problem: 'empty', vars: {} }],
    ['not executable', file(makeElf({ machine: 62 }), 0o640), linuxX64, { problem: 'notExecutable', vars: { mode: '640' } }],
    ['text', file(Buffer.from('hello world, this is not a program at all')), linuxX64, { problem: 'notProgram', vars: {} }],
    ['a DOS stub only', file(Buffer.concat([Buffer.from('MZ'), Buffer.alloc(126)])), { platform: 'win32', arch: 'x64' }, { problem: 'notProgram', vars: {} }],
    ['script on Windows', file(Buffer.from('#!/bin/sh\n')), { platform: 'win32', arch: 'x64' }, { problem: 'notProgram', vars: {} }],
    ['ELF arm64 on x64', file(makeElf({ machine: 183 })), linuxX64, { problem: 'wrongArch', vars: { binArch: 'arm64', arch: 'x64' } }],
    ['Mach-O on Linux', file(machO(0x01000007, 104)), linuxX64, { problem: 'wrongOS', vars: { format: 'Mach-O', formatOS: 'macOS', os: 'Linux' } }],
    ['ELF on Windows', file(makeElf({ machine: 62 })), { platform: 'win32', arch: 'x64' }, { problem: 'wrongOS', vars: { format: 'ELF', formatOS: 'Linux', os: 'Windows' } }],
    ['PE x64 on win32-arm64', file(padTo(pe(0x8664, 1024), 1024)), { platform: 'win32', arch: 'arm64' }, { problem: 'wrongArch', vars: { binArch: 'x64', arch: 'arm64' } }],
    ['universal binary without this CPU', file(padTo(fat([[0x01000007, 64, 64]]), 128)), { platform: 'darwin', arch: 'arm64' }, { problem: 'wrongArch', vars: { binArch: 'x64', arch: 'arm64' } }],
    ['ELF truncated (section table)', file(makeElf({ machine: 62, shoff: 1000 })), linuxX64, { problem: 'truncated', vars: { size: 136, need: 1192 } }],
    ['Mach-O truncated (segment)', file(machO(0x0100000c, 9000)), { platform: 'darwin', arch: 'arm64' }, { problem: 'truncated', vars: { size: 104, need: 9000 } }],
    ['universal binary truncated', file(fat([[0x0100000c, 64, 64]])), { platform: 'darwin', arch: 'arm64' }, { problem: 'truncated', vars: { size: 28, need: 128 } }],
    ['PE truncated (section)', file(pe(0x8664, 4096)), { platform: 'win32', arch: 'x64' }, { problem: 'truncated', vars: { size: 368, need: 4096 } }],
  ];
  for (const [name, info, facts, want] of cases) {
    await t.test(name, () => assert.deepEqual(binary.check(info, facts), want));
  }
  await t.test('a loader this system lacks', () => {
    const info = file(makeElf({ machine: 62, interp: '/lib/ld-musl-x86_64.so.1' }));
    assert.deepEqual(binary.check(info, linuxX64, { exists: () => false }), { problem: 'noLoader', vars: { interp: '/lib/ld-musl-x86_64.so.1' } });
    assert.equal(binary.check(info, linuxX64, { exists: (p) => p === '/lib/ld-musl-x86_64.so.1' }), null);
  });
  await t.test('emulation lets x64 programs run on Arm Macs and Windows only when asked', () => {
    const mac = file(machO(0x01000007, 104));
    assert.equal(binary.check(mac, { platform: 'darwin', arch: 'arm64' }).problem, 'wrongArch');
    assert.equal(binary.check(mac, { platform: 'darwin', arch: 'arm64' }, { emulation: true }), null);
    assert.equal(binary.check(file(makeElf({ machine: 62 })), { platform: 'linux', arch: 'arm64' }, { emulation: true }).problem, 'wrongArch');
  });
});

test('check: the real Node executable and its truncated copy', (t) => {
  const host = realHost();
  const facts = { platform: process.platform, arch: process.arch };
  assert.equal(binary.check(host.inspect(process.execPath), facts, { exists: host.exists }), null);
  if (process.platform === 'win32') return;
  const info = host.inspect(process.execPath);
  const cut = Object.assign({}, info, { size: Math.floor(info.size / 2) });
  assert.equal(binary.check(cut, facts).problem, 'truncated');
  assert.ok(fs.statSync(process.execPath).size === info.size);
});
