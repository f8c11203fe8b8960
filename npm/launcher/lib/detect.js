'use strict';
// Host detection as pure functions over an injected host object (see host.js
// for the real one), so every branch can be tested on any machine.
//
// A host object has:
//   platform, arch        process.platform and process.arch
//   env                   environment variables
//   execPath              path of the running Node executable
//   glibcVersionRuntime() Node's report header field, or undefined
//   readFile(path, max)   Buffer of at most max bytes (all when max is
//                         undefined), or null when unreadable
//   exists(path)          whether a file exists
//   run(cmd, args)        {status, stdout, stderr} or null when cmd cannot run
//   resolve(request)      require.resolve from the launcher, or null
//   inspect(path)         a file description for binary.js
//   packageDir            the CLI package's directory, links resolved
//   cwd()                 the working directory, links resolved
//   pnpApi()              the .pnp.cjs path under Yarn Plug'n'Play, or null

const PT_INTERP = 3;

// How much of Node's executable to read for its ELF interpreter. The program
// headers and the interpreter path sit at the start of the file.
const ELF_HEAD_BYTES = 64 * 1024;

// elfInterpreter returns the PT_INTERP path of an ELF image (the dynamic
// loader, e.g. /lib/ld-musl-x86_64.so.1), or null when buf is not an ELF
// image, is statically linked, or is too short.
function elfInterpreter(buf) {
  if (!buf || buf.length < 52) return null;
  if (buf[0] !== 0x7f || buf[1] !== 0x45 || buf[2] !== 0x4c || buf[3] !== 0x46) return null;
  const cls = buf[4];
  const data = buf[5];
  if ((cls !== 1 && cls !== 2) || (data !== 1 && data !== 2)) return null;
  const is64 = cls === 2;
  const le = data === 1;
  if (is64 && buf.length < 64) return null;
  const u16 = (o) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const u64 = (o) => {
    const lo = le ? u32(o) : u32(o + 4);
    const hi = le ? u32(o + 4) : u32(o);
    return hi * 0x100000000 + lo;
  };
  const word = is64 ? u64 : u32;
  const phoff = word(is64 ? 0x20 : 0x1c);
  const phentsize = u16(is64 ? 0x36 : 0x2a);
  const phnum = u16(is64 ? 0x38 : 0x2c);
  if (phentsize < (is64 ? 56 : 32)) return null;
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (ph + phentsize > buf.length) return null;
    if (u32(ph) !== PT_INTERP) continue;
    const offset = word(ph + (is64 ? 8 : 4));
    const size = word(ph + (is64 ? 32 : 16));
    if (size === 0 || offset + size > buf.length) return null;
    return buf.toString('latin1', offset, offset + size).replace(/\0[\s\S]*$/, '');
  }
  return null;
}

// libcFromInterpreter maps a dynamic loader path to a libc, or null.
function libcFromInterpreter(interp) {
  if (!interp) return null;
  if (interp.indexOf('ld-musl') !== -1) return 'musl';
  if (interp.indexOf('ld-linux') !== -1) return 'glibc';
  return null;
}

// libcFromLdd reads `ldd --version` output. musl's ldd prints its banner on
// stderr and exits 1, so both streams count and the status does not.
function libcFromLdd(result) {
  if (!result) return null;
  const out = String(result.stdout || '') + '\n' + String(result.stderr || '');
  if (/musl/i.test(out)) return 'musl';
  if (/glibc|gnu libc|gnu c library/i.test(out)) return 'glibc';
  return null;
}

// detectLibc reports the C library on Linux as {libc, via}: libc is "glibc",
// "musl" or null (unknown, or not Linux); via names the signal that decided.
// Signals, first match wins, none of them needing ldd unless all else fails:
//   1. Node's report header has glibcVersionRuntime -> glibc (npm uses it too)
//   2. Node's own ELF interpreter: ld-musl -> musl, ld-linux -> glibc
//   3. /etc/alpine-release exists -> musl
//   4. `ldd --version`, stdout and stderr
function detectLibc(host) {
  if (host.platform !== 'linux') return { libc: null, via: null };
  if (host.glibcVersionRuntime()) return { libc: 'glibc', via: 'report' };
  const fromElf = libcFromInterpreter(elfInterpreter(host.readFile(host.execPath, ELF_HEAD_BYTES)));
  if (fromElf) return { libc: fromElf, via: 'elf' };
  if (host.exists('/etc/alpine-release')) return { libc: 'musl', via: 'alpine-release' };
  const fromLdd = libcFromLdd(host.run('ldd', ['--version']));
  if (fromLdd) return { libc: fromLdd, via: 'ldd' };
  return { libc: null, via: null };
}

// detectAVX2 reports whether an x64 CPU has AVX2 as {avx2, via}: avx2 is true,
// false, or null when it cannot tell.
//   Linux:   the flags line of /proc/cpuinfo
//   macOS:   sysctl machdep.cpu.leaf7_features, then hw.optional.avx2_0
//   Windows: no cheap check exists without native code, so null. The launcher
//            then assumes AVX2 and relies on the illegal-instruction fallback.
function detectAVX2(host) {
  if (host.arch !== 'x64') return { avx2: null, via: null };
  if (host.platform === 'linux') {
    const buf = host.readFile('/proc/cpuinfo');
    if (!buf) return { avx2: null, via: null };
    const flags = String(buf).split('\n').filter((l) => /^flags\s*:/.test(l));
    if (flags.length === 0) return { avx2: null, via: null };
    return { avx2: flags.every((l) => /\savx2(\s|$)/.test(l)), via: 'cpuinfo' };
  }
  if (host.platform === 'darwin') {
    const leaf7 = host.run('sysctl', ['-n', 'machdep.cpu.leaf7_features']);
    if (leaf7 && leaf7.status === 0 && String(leaf7.stdout).trim() !== '') {
      return { avx2: /(^|\s)AVX2(\s|$)/i.test(String(leaf7.stdout)), via: 'sysctl leaf7' };
    }
    const opt = host.run('sysctl', ['-n', 'hw.optional.avx2_0']);
    if (opt && opt.status === 0) {
      const v = String(opt.stdout).trim();
      if (v === '1') return { avx2: true, via: 'sysctl hw.optional' };
      if (v === '0') return { avx2: false, via: 'sysctl hw.optional' };
    }
    return { avx2: null, via: null };
  }
  return { avx2: null, via: null };
}

module.exports = {
  ELF_HEAD_BYTES,
  elfInterpreter,
  libcFromInterpreter,
  libcFromLdd,
  detectLibc,
  detectAVX2,
};
