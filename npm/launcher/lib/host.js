'use strict';
// The real host object that detect.js and resolve.js work over: the one place
// that touches the process, the file system and child processes.

const fs = require('fs');
const childProcess = require('child_process');

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
  };
}

module.exports = { realHost };
