'use strict';
// Whether a file can run as a native program on this machine, decided from
// its metadata and first bytes before it is started. Starting a broken file
// goes wrong quietly: the system runs a file without a known executable
// header with /bin/sh (a 0-byte file "succeeds", a binary for another CPU
// prints shell syntax errors) and a truncated program dies of SIGSEGV with no
// message. Pure functions over an injected file description, like detect.js.
//
// A file description (host.inspect) is:
//   type        "file", "directory", "missing" or "other"
//   size        bytes
//   mode        permission bits (POSIX)
//   executable  whether this process may execute it (access X_OK)
//   head        Buffer with the first HEAD_BYTES bytes

// ELF program headers, Mach-O load commands and the PE section table all sit
// at the start of the file; this much covers them for any real program.
const HEAD_BYTES = 64 * 1024;

// Node's process.arch for ELF e_machine values.
const ELF_MACHINES = {
  3: 'ia32', 8: 'mips', 20: 'ppc', 21: 'ppc64', 22: 's390x', 40: 'arm',
  62: 'x64', 183: 'arm64', 243: 'riscv64', 258: 'loong64',
};
const PT_LOAD = 1;
const PT_INTERP = 3;
const SHT_NOBITS = 8;

// Mach-O cputype values (CPU_ARCH_ABI64 = 0x01000000).
const MACHO_CPUS = { 7: 'ia32', 0x01000007: 'x64', 12: 'arm', 0x0100000c: 'arm64' };
const LC_SEGMENT = 0x1;
const LC_SEGMENT_64 = 0x19;
const LC_CODE_SIGNATURE = 0x1d;

// PE/COFF Machine values.
const PE_MACHINES = { 0x14c: 'ia32', 0x8664: 'x64', 0x1c4: 'arm', 0xaa64: 'arm64' };

// The program format each platform runs natively.
const NATIVE_FORMAT = { linux: 'ELF', darwin: 'Mach-O', win32: 'PE' };
const FORMAT_OS = { ELF: 'Linux', 'Mach-O': 'macOS', PE: 'Windows' };
const OS_NAMES = { linux: 'Linux', darwin: 'macOS', win32: 'Windows' };

// Hosts that run another architecture's programs by emulation (Rosetta 2,
// Windows on Arm). Only FACET_BIN_PATH may point at such a program: an
// installed platform package must carry its own architecture.
const EMULATED = { 'darwin-arm64': ['x64'], 'win32-arm64': ['x64', 'ia32'] };

function readers(buf, le) {
  const u16 = (o) => (o + 2 <= buf.length ? (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o)) : null);
  const u32 = (o) => (o + 4 <= buf.length ? (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o)) : null);
  const u64 = (o) => {
    const a = u32(o);
    const b = u32(o + 4);
    if (a === null || b === null) return null;
    return le ? b * 0x100000000 + a : a * 0x100000000 + b;
  };
  return { u16, u32, u64 };
}

// parseELF returns {format, arch, need, interp} or null when buf is not ELF.
// need is the file size the headers promise: the end of the program header
// table, of every loaded segment and of the section header table.
function parseELF(buf) {
  if (buf.length < 52 || buf[0] !== 0x7f || buf[1] !== 0x45 || buf[2] !== 0x4c || buf[3] !== 0x46) return null;
  const is64 = buf[4] === 2;
  const le = buf[5] !== 2;
  const { u16, u32, u64 } = readers(buf, le);
  const word = is64 ? u64 : u32;
  const machine = u16(0x12);
  const out = { format: 'ELF', arch: ELF_MACHINES[machine] || 'machine ' + machine, need: 0, interp: null };
  const phoff = word(is64 ? 0x20 : 0x1c);
  const shoff = word(is64 ? 0x28 : 0x20);
  const phentsize = u16(is64 ? 0x36 : 0x2a);
  const phnum = u16(is64 ? 0x38 : 0x2c);
  const shentsize = u16(is64 ? 0x3a : 0x2e);
  const shnum = u16(is64 ? 0x3c : 0x30);
  if (phoff === null || phnum === null) return out;
  out.need = Math.max(out.need, phoff + phnum * phentsize);
  if (shoff) out.need = Math.max(out.need, shoff + shnum * shentsize);
  // Sections with file contents (some linkers put the table first).
  for (let i = 0; shoff && i < shnum; i++) {
    const sh = shoff + i * shentsize;
    if (sh + shentsize > buf.length) break;
    if (u32(sh + 4) === SHT_NOBITS) continue;
    const offset = word(sh + (is64 ? 24 : 16));
    const size = word(sh + (is64 ? 32 : 20));
    if (offset !== null && size !== null) out.need = Math.max(out.need, offset + size);
  }
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (ph + phentsize > buf.length) break; // beyond what was read: unknown
    const type = u32(ph);
    const offset = word(ph + (is64 ? 8 : 4));
    const filesz = word(ph + (is64 ? 32 : 16));
    if (type === PT_LOAD) out.need = Math.max(out.need, offset + filesz);
    if (type === PT_INTERP && filesz > 0 && offset + filesz <= buf.length) {
      out.interp = buf.toString('latin1', offset, offset + filesz).replace(/\0[\s\S]*$/, '');
    }
  }
  return out;
}

// parseMachO returns {format, arch, arches, need} or null when buf is not a
// Mach-O image. A universal ("fat") file lists every architecture it holds.
function parseMachO(buf) {
  if (buf.length < 28) return null;
  const be32 = buf.readUInt32BE(0);
  if (be32 === 0xcafebabe || be32 === 0xcafebabf) {
    const wide = be32 === 0xcafebabf;
    const n = buf.readUInt32BE(4);
    if (n === 0 || n > 32) return null; // Java class files share the magic
    const { u32, u64 } = readers(buf, false);
    const out = { format: 'Mach-O', arches: [], need: 0 };
    const size = wide ? 32 : 20;
    for (let i = 0; i < n; i++) {
      const at = 8 + i * size;
      const cpu = u32(at);
      if (cpu === null) break;
      const offset = wide ? u64(at + 8) : u32(at + 8);
      const len = wide ? u64(at + 16) : u32(at + 12);
      out.arches.push(MACHO_CPUS[cpu] || 'cputype ' + cpu);
      out.need = Math.max(out.need, offset + len);
    }
    out.arch = out.arches.join('+');
    return out;
  }
  const le32 = buf.readUInt32LE(0);
  if (le32 !== 0xfeedfacf && le32 !== 0xfeedface) return null;
  const is64 = le32 === 0xfeedfacf;
  const { u32, u64 } = readers(buf, true);
  const cpu = u32(4);
  const arch = MACHO_CPUS[cpu] || 'cputype ' + cpu;
  const out = { format: 'Mach-O', arch, arches: [arch], need: 0 };
  const ncmds = u32(16);
  let at = is64 ? 32 : 28;
  for (let i = 0; i < ncmds; i++) {
    const cmd = u32(at);
    const cmdsize = u32(at + 4);
    if (cmd === null || cmdsize === null || cmdsize < 8) break;
    if (cmd === LC_SEGMENT_64) {
      const fileoff = u64(at + 40);
      const filesize = u64(at + 48);
      if (fileoff !== null && filesize !== null) out.need = Math.max(out.need, fileoff + filesize);
    } else if (cmd === LC_SEGMENT) {
      const fileoff = u32(at + 32);
      const filesize = u32(at + 36);
      if (fileoff !== null && filesize !== null) out.need = Math.max(out.need, fileoff + filesize);
    } else if (cmd === LC_CODE_SIGNATURE) {
      const off = u32(at + 8);
      const len = u32(at + 12);
      if (off !== null && len !== null) out.need = Math.max(out.need, off + len);
    }
    at += cmdsize;
  }
  return out;
}

// parsePE returns {format, arch, need} or null when buf is not a PE image.
function parsePE(buf) {
  if (buf.length < 64 || buf[0] !== 0x4d || buf[1] !== 0x5a) return null;
  const { u16, u32 } = readers(buf, true);
  const pe = u32(0x3c);
  if (pe === null || u32(pe) !== 0x00004550) return { format: 'PE', arch: 'unknown', need: 0, dos: true };
  const machine = u16(pe + 4);
  const out = { format: 'PE', arch: PE_MACHINES[machine] || 'machine 0x' + (machine || 0).toString(16), need: 0 };
  const sections = u16(pe + 6);
  const optSize = u16(pe + 20);
  const opt = pe + 24;
  const magic = u16(opt);
  // The certificate table (data directory 4) holds a file offset, not an RVA.
  const dirs = magic === 0x20b ? opt + 112 : opt + 96;
  const certOff = u32(dirs + 4 * 8);
  const certLen = u32(dirs + 4 * 8 + 4);
  if (certOff && certLen && dirs + 4 * 8 + 8 <= opt + optSize) out.need = Math.max(out.need, certOff + certLen);
  const table = opt + optSize;
  for (let i = 0; i < sections; i++) {
    const s = table + i * 40;
    const rawSize = u32(s + 16);
    const rawPtr = u32(s + 20);
    if (rawSize === null || rawPtr === null) break;
    if (rawSize > 0) out.need = Math.max(out.need, rawPtr + rawSize);
  }
  return out;
}

// identify names the program format of the first bytes of a file: a parsed
// header, {format: "script"} for "#!", or null for anything else.
function identify(head) {
  if (!head || head.length === 0) return null;
  if (head.length >= 2 && head[0] === 0x23 && head[1] === 0x21) return { format: 'script' };
  return parseELF(head) || parseMachO(head) || parsePE(head);
}

function problem(id, vars) {
  return { problem: id, vars: vars || {} };
}

function octal(mode) {
  return ('000' + (mode & 0o777).toString(8)).slice(-3);
}

// check decides whether the file described by info can run on a host with
// these facts ({platform, arch}). It returns null when it can, or
// {problem, vars}: problem is one of missing, directory, notFile,
// notExecutable, empty, notProgram, wrongOS, wrongArch, truncated, noLoader,
// with the values messages.problem() fills in. opts.emulation accepts
// programs the host runs by emulation; opts.exists(path) checks an ELF
// program's loader.
function check(info, facts, opts) {
  const o = opts || {};
  if (!info || info.type === 'missing') return problem('missing');
  if (info.type === 'directory') return problem('directory');
  if (info.type !== 'file') return problem('notFile');
  if (info.size === 0) return problem('empty');
  const win = facts.platform === 'win32';
  if (!win && !info.executable) return problem('notExecutable', { mode: octal(info.mode) });
  const id = identify(info.head);
  if (!id || id.dos) return problem('notProgram');
  if (id.format === 'script') return win ? problem('notProgram') : null;
  const native = NATIVE_FORMAT[facts.platform] || 'ELF';
  if (id.format !== native) {
    return problem('wrongOS', { format: id.format, formatOS: FORMAT_OS[id.format], os: OS_NAMES[facts.platform] || facts.platform });
  }
  const arches = id.arches || [id.arch];
  const runs = (a) => a === facts.arch ||
    (o.emulation && (EMULATED[facts.platform + '-' + facts.arch] || []).indexOf(a) !== -1);
  if (!arches.some(runs)) return problem('wrongArch', { binArch: id.arch, arch: facts.arch });
  if (id.need > info.size) return problem('truncated', { size: info.size, need: id.need });
  if (id.interp && o.exists && !o.exists(id.interp)) return problem('noLoader', { interp: id.interp });
  return null;
}

module.exports = { HEAD_BYTES, parseELF, parseMachO, parsePE, identify, check, octal };
