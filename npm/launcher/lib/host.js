'use strict';
// The real host object that detect.js and resolve.js work over: the one place
// that touches the process, the file system and child processes.

const fs = require('fs');
const childProcess = require('child_process');
const path = require('path');
const { HEAD_BYTES } = require('./binary.js');

function glibcVersionRuntime() {
  const report = process.report;
  if (!report || typeof report.getReport !== 'function') return undefined;
  // Skipping the network section makes the report much faster (Node 20.13+).
  const canExclude = 'excludeNetwork' in report;
  const saved = canExclude ? report.excludeNetwork : undefined;
  try {
    if (canExclude) report.excludeNetwork = true;
    let r = report.getReport();
    if (typeof r === 'string') r = JSON.parse(r);
    return r && r.header ? r.header.glibcVersionRuntime : undefined;
  } catch (e) {
    return undefined;
  } finally {
    if (canExclude) {
      try { report.excludeNetwork = saved; } catch (e) { /* read-only on some versions */ }
    }
  }
}

function readFile(path, max) {
  try {
    if (max === undefined) return fs.readFileSync(path);
    const fd = fs.openSync(path, 'r');
    try {
      const buf = Buffer.alloc(max);
      const n = fs.readSync(fd, buf, 0, max, 0);
      return buf.subarray(0, n);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    return null;
  }
}

function exists(path) {
  try {
    fs.statSync(path);
    return true;
  } catch (e) {
    return false;
  }
}

// inspect describes a file for binary.js: its type, size, permission bits,
// whether this process may execute it, and its first binary.HEAD_BYTES bytes.
function inspect(path) {
  let st;
  try {
    st = fs.statSync(path);
  } catch (e) {
    return { type: 'missing', size: 0, mode: 0, executable: false, head: null };
  }
  if (st.isDirectory()) return { type: 'directory', size: st.size, mode: st.mode, executable: false, head: null };
  if (!st.isFile()) return { type: 'other', size: st.size, mode: st.mode, executable: false, head: null };
  let executable = true;
  if (process.platform !== 'win32') {
    try {
      fs.accessSync(path, fs.constants.X_OK);
    } catch (e) {
      executable = false;
    }
  }
  const head = readFile(path, Math.min(HEAD_BYTES, st.size)) || Buffer.alloc(0);
  return { type: 'file', size: st.size, mode: st.mode, executable, head };
}

function realpath(path) {
  try {
    return fs.realpathSync(path);
  } catch (e) {
    return path;
  }
}

function run(cmd, args) {
  const r = childProcess.spawnSync(cmd, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 5000,
    windowsHide: true,
  });
  if (r.error) return null;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// resolve finds a module from this directory, so hoisted, nested and pnpm
// layouts all work the way Node itself would find the package.
function resolve(request) {
  try {
    return require.resolve(request, { paths: [__dirname] });
  } catch (e) {
    return null;
  }
}

// pnpApi is the path of Yarn's Plug'n'Play map (.pnp.cjs) when this process
// runs under it, or null.
function pnpApi() {
  if (!process.versions.pnp) return null;
  return resolve('pnpapi');
}

function realHost() {
  return {
    platform: process.platform,
    arch: process.arch,
    env: process.env,
    execPath: process.execPath,
    glibcVersionRuntime,
    readFile,
    exists,
    run,
    resolve,
    inspect,
    realpath,
    cwd: () => realpath(process.cwd()),
    // The CLI package's own directory, links resolved.
    packageDir: realpath(path.join(__dirname, '..')),
    pnpApi,
  };
}

module.exports = { realHost };
