'use strict';
// Shared test helpers: a fake host for the pure resolution functions, a tiny
// ELF image builder, and a node_modules layout builder for end-to-end runs of
// bin/facet.js. This file defines no tests.

const fs = require('fs');
const path = require('path');

const LAUNCHER = path.join(__dirname, '..');

// loadFixture returns the checked-in manifest for the 12 targets. A Go test
// (npm.TestFixtureMatchesGenerated) proves it equals what Go generates.
function loadFixture() {
  return JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'manifest.json'), 'utf8'));
}

const NODE_MODULES = '/app/node_modules';
const NODE_EXEC = '/usr/local/bin/node';

// fakeHost describes a machine for resolve.js and detect.js.
//   platform, arch
//   env               environment variables
//   glibcRuntime      what Node's report header says (undefined: nothing)
//   nodeElf           Buffer returned for Node's executable
//   files             paths that exist (e.g. /etc/alpine-release)
//   programs          {path: {content, mode}}: files binary.check reads (an
//                     override); content defaults to a program for the host
//   dirs              paths that are directories
//   cpuinfo           text of /proc/cpuinfo (undefined: unreadable)
//   commands          {"ldd --version": {status, stdout, stderr}}; a missing
//                     key means the command cannot be run
//   installed         {"@scope/pkg": {version, binary: true|false, bin,
//                     content, mode}}: content defaults to a program for
//                     the host, mode to 0755
//   packageDir, cwd   where the CLI package is and where the launcher runs
//                     (default /app/node_modules/agent-facets and /app)
//   jsonFiles         {path: object} more files readFile returns as JSON
//   pnp               the .pnp.cjs path when running under Yarn PnP
// host.calls records every command run, so tests can check ldd is skipped.
function fakeHost(opts) {
  const o = opts || {};
  const installed = o.installed || {};
  const files = new Set(o.files || []);
  const dirs = new Set(o.dirs || []);
  const programs = {};
  const pkgJSON = (name) => NODE_MODULES + '/' + name + '/package.json';
  for (const name of Object.keys(installed)) {
    if (installed[name].binary !== false) {
      const p = path.join(NODE_MODULES, name, installed[name].bin || 'bin/facet');
      files.add(p);
      programs[p] = installed[name];
    }
  }
  for (const p of Object.keys(o.programs || {})) {
    files.add(p);
    programs[p] = o.programs[p];
  }
  const calls = [];
  return {
    platform: o.platform,
    arch: o.arch,
    env: o.env || {},
    execPath: NODE_EXEC,
    packageDir: o.packageDir || NODE_MODULES + '/agent-facets',
    cwd: () => o.cwd || '/app',
    pnpApi: () => o.pnp || null,
    calls,
    inspect(p) {
      if (dirs.has(p)) return { type: 'directory', size: 4096, mode: 0o755, executable: false, head: null };
      if (!files.has(p)) return { type: 'missing', size: 0, mode: 0, executable: false, head: null };
      const prog = programs[p] || {};
      const content = prog.content || program(o.platform, o.arch);
      const mode = prog.mode === undefined ? 0o755 : prog.mode;
      return { type: 'file', size: content.length, mode, executable: (mode & 0o111) !== 0, head: content.subarray(0, 65536) };
    },
    glibcVersionRuntime: () => o.glibcRuntime,
    readFile(p, max) {
      if (p === NODE_EXEC) return o.nodeElf ? o.nodeElf.subarray(0, max) : null;
      if (p === '/proc/cpuinfo') return o.cpuinfo === undefined ? null : Buffer.from(o.cpuinfo);
      for (const name of Object.keys(installed)) {
        if (p === pkgJSON(name)) {
          return Buffer.from(JSON.stringify({ name, version: installed[name].version }));
        }
      }
      const json = o.jsonFiles || {};
      if (Object.prototype.hasOwnProperty.call(json, p)) {
        return Buffer.from(typeof json[p] === 'string' ? json[p] : JSON.stringify(json[p]));
      }
      return null;
    },
    exists: (p) => files.has(p) || dirs.has(p) || Object.prototype.hasOwnProperty.call(o.jsonFiles || {}, p),
    run(cmd, args) {
      const key = [cmd].concat(args).join(' ');
      calls.push(key);
      const commands = o.commands || {};
      return Object.prototype.hasOwnProperty.call(commands, key) ? commands[key] : null;
    },
    resolve(request) {
      const name = request.replace(/\/package\.json$/, '');
      return installed[name] ? pkgJSON(name) : null;
    },
  };
}

// cpuinfo returns /proc/cpuinfo text for two cores with or without avx2.
function cpuinfo(avx2) {
  const flags = 'fpu vme de pse tsc msr pae mce cx8 sse sse2 ssse3 sse4_1 sse4_2 avx' +
    (avx2 ? ' avx2 bmi2' : ' popcnt');
  return ['processor\t: 0', 'flags\t\t: ' + flags, '', 'processor\t: 1', 'flags\t\t: ' + flags, ''].join('\n');
}

// makeElf builds a minimal ELF image with a PT_PHDR and, when interp is set,
// a PT_INTERP program header pointing at it.
function makeElf(opts) {
  const is64 = opts.bits !== 32;
  const le = opts.le !== false;
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const phnum = opts.interp ? 2 : 1;
  const interp = opts.interp ? Buffer.from(opts.interp + '\0', 'latin1') : Buffer.alloc(0);
  const interpOff = ehsize + phnum * phentsize;
  const buf = Buffer.alloc(interpOff + interp.length + 16);
  buf.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1], 0);
  const u16 = (v, o) => (le ? buf.writeUInt16LE(v, o) : buf.writeUInt16BE(v, o));
  u16(2, 0x10); // ET_EXEC
  u16(opts.machine || 0, 0x12);
  const u32 = (v, o) => (le ? buf.writeUInt32LE(v, o) : buf.writeUInt32BE(v, o));
  const word = (v, o) => {
    if (!is64) return u32(v, o);
    if (le) { u32(v, o); u32(0, o + 4); } else { u32(0, o); u32(v, o + 4); }
  };
  word(ehsize, is64 ? 0x20 : 0x1c); // e_phoff
  if (opts.shoff) {
    // A section header table past the end: a truncated file.
    word(opts.shoff, is64 ? 0x28 : 0x20);
    u16(is64 ? 64 : 40, is64 ? 0x3a : 0x2e);
    u16(3, is64 ? 0x3c : 0x30);
  }
  u16(phentsize, is64 ? 0x36 : 0x2a);
  u16(phnum, is64 ? 0x38 : 0x2c);
  const ph0 = ehsize;
  u32(6, ph0); // PT_PHDR
  if (opts.interp) {
    const ph1 = ehsize + phentsize;
    u32(3, ph1); // PT_INTERP
    word(interpOff, ph1 + (is64 ? 8 : 4)); // p_offset
    word(interp.length, ph1 + (is64 ? 32 : 16)); // p_filesz
    interp.copy(buf, interpOff);
  }
  return buf;
}

const ELF_MACHINE = { x64: 62, arm64: 183, ia32: 3, arm: 40, riscv64: 243 };
const MACHO_CPU = { x64: 0x01000007, arm64: 0x0100000c };
const PE_MACHINE = { x64: 0x8664, arm64: 0xaa64, ia32: 0x14c };

// program returns the smallest image binary.js accepts as a program for
// platform and arch: an ELF, Mach-O or PE header.
function program(platform, arch) {
  if (platform === 'darwin') {
    const buf = Buffer.alloc(64);
    buf.writeUInt32LE(0xfeedfacf, 0);
    buf.writeUInt32LE(MACHO_CPU[arch] || 0, 4);
    return buf;
  }
  if (platform === 'win32') {
    const buf = Buffer.alloc(128);
    buf.write('MZ', 0, 'latin1');
    buf.writeUInt32LE(64, 0x3c);
    buf.write('PE\0\0', 64, 'latin1');
    buf.writeUInt16LE(PE_MACHINE[arch] || 0, 68);
    return buf;
  }
  return makeElf({ machine: ELF_MACHINE[arch] || 0 });
}

// writeLauncherPackage writes a CLI package into pkgDir the way the Go
// WriteLauncher does: bin/<binary>.js, lib/*.js, lib/messages.json and the
// given manifest as lib/manifest.json. It returns the bin script's path.
function writeLauncherPackage(pkgDir, manifest) {
  fs.mkdirSync(path.join(pkgDir, 'bin'), { recursive: true });
  fs.mkdirSync(path.join(pkgDir, 'lib'), { recursive: true });
  const bin = path.join(pkgDir, 'bin', manifest.binary + '.js');
  fs.copyFileSync(path.join(LAUNCHER, 'bin', 'facet.js'), bin);
  fs.chmodSync(bin, 0o755);
  for (const f of fs.readdirSync(path.join(LAUNCHER, 'lib'))) {
    if (f === 'manifest.json') continue;
    fs.copyFileSync(path.join(LAUNCHER, 'lib', f), path.join(pkgDir, 'lib', f));
  }
  fs.writeFileSync(path.join(pkgDir, 'lib', 'manifest.json'), JSON.stringify(manifest, null, 2));
  fs.writeFileSync(path.join(pkgDir, 'package.json'), JSON.stringify({
    name: manifest.name, version: manifest.version, bin: { [manifest.binary]: 'bin/' + manifest.binary + '.js' },
  }));
  return bin;
}

// writePlatformPackage writes a platform package whose binary is a shell
// script with the given body.
function writePlatformPackage(pkgDir, name, version, script, mode) {
  fs.mkdirSync(path.join(pkgDir, 'bin'), { recursive: true });
  fs.writeFileSync(path.join(pkgDir, 'package.json'), JSON.stringify({ name, version }));
  const bin = path.join(pkgDir, 'bin', 'facet');
  fs.writeFileSync(bin, '#!/bin/sh\n' + script + '\n');
  fs.chmodSync(bin, mode === undefined ? 0o755 : mode);
  return bin;
}

module.exports = {
  LAUNCHER,
  NODE_MODULES,
  NODE_EXEC,
  loadFixture,
  fakeHost,
  cpuinfo,
  makeElf,
  program,
  writeLauncherPackage,
  writePlatformPackage,
};
