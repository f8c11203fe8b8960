#!/usr/bin/env node
'use strict';
// The CLI package's bin: finds the native binary from the platform package the
// package manager installed (see lib/resolve.js), runs it with this process's
// arguments and stdio, forwards signals to it, and exits the way it exited.
// If a build dies with an illegal instruction (an AVX2 build on a CPU without
// AVX2), or cannot be started, the next candidate, the -baseline build, runs
// instead.

const os = require('os');
const childProcess = require('child_process');
const tty = require('tty');
const manifest = require('../lib/manifest.json');
const { realHost } = require('../lib/host.js');
const { resolveBinary } = require('../lib/resolve.js');
const messages = require('../lib/messages.js');

// Windows reports an illegal instruction as this exit code, not a signal.
const STATUS_ILLEGAL_INSTRUCTION = 0xC000001D;

// Signals passed on to the child. A terminal sends SIGINT and SIGQUIT to the
// whole foreground process group, the child included, so those two are
// forwarded only when stdin is not a terminal: otherwise one Ctrl-C would
// reach the child twice. On Windows a console Ctrl-C reaches the child by
// itself; the launcher only has to stay alive until the child exits.
const POSIX_SIGNALS = ['SIGTERM', 'SIGHUP', 'SIGUSR2', 'SIGINT', 'SIGQUIT'];
const TERMINAL_SIGNALS = ['SIGINT', 'SIGQUIT'];
const WINDOWS_SIGNALS = ['SIGINT', 'SIGBREAK'];

function illegalInstruction(code, signal) {
  if (signal === 'SIGILL') return true;
  return process.platform === 'win32' &&
    (code === STATUS_ILLEGAL_INSTRUCTION || code === STATUS_ILLEGAL_INSTRUCTION - 0x100000000);
}

// The child running now; signals go to it.
let current = null;

// watchSignals installs the forwarding handlers, once, before the first
// child starts, so no signal can slip in between spawning and watching. It
// returns a function that removes them.
function watchSignals() {
  const handlers = [];
  const win = process.platform === 'win32';
  const unwatch = () => {
    for (const [sig, handler] of handlers) process.removeListener(sig, handler);
  };
  for (const sig of win ? WINDOWS_SIGNALS : POSIX_SIGNALS) {
    const handler = () => {
      if (win) return;
      // tty.isatty, not process.stdin: opening stdin as a stream would make the
      // terminal non-blocking for the child too.
      if (TERMINAL_SIGNALS.indexOf(sig) !== -1 && tty.isatty(0)) return;
      if (!current) {
        unwatch();
        dieLike(sig);
        return;
      }
      try {
        current.kill(sig);
      } catch (e) {
        // The child is already gone; its exit event follows.
      }
    };
    try {
      process.on(sig, handler);
      handlers.push([sig, handler]);
    } catch (e) {
      // This platform does not have that signal.
    }
  }
  return unwatch;
}

// dieLike ends this process the way the child ended: by the same signal, so
// a shell or supervisor sees what really happened.
function dieLike(signal) {
  try {
    process.kill(process.pid, signal);
  } catch (e) {
    // Fall through to an exit code.
  }
  // Signals whose default action does not terminate leave us here.
  const num = os.constants.signals[signal] || 0;
  setTimeout(() => process.exit(128 + num), 1000);
}

function run(result, index, warned, unwatch) {
  const binaries = result.binaries;
  const bin = binaries[index];
  const child = childProcess.spawn(bin.binPath, process.argv.slice(2), { stdio: 'inherit' });
  current = child;
  let done = false;

  child.on('error', (err) => {
    if (done) return;
    done = true;
    current = null;
    const error = err && err.code ? err.code + ' (' + err.message + ')' : String(err);
    if (index + 1 < binaries.length) {
      process.stderr.write(messages.fallback(manifest, {
        from: bin.package, to: binaries[index + 1].package, reason: { id: 'spawnFailed', vars: { error } },
      }));
      run(result, index + 1, warned, unwatch);
      return;
    }
    unwatch();
    process.stderr.write(messages.spawnFailed(manifest, {
      path: bin.binPath, error, override: result.override, mgr: result.mgr,
      packageDir: bin.packageDir, platform: process.platform, cwd: realHost().cwd(),
    }));
    // exitCode, not exit(): stderr may be an asynchronous pipe (macOS) and
    // the message must get out whole.
    process.exitCode = 1;
  });

  child.on('exit', (code, signal) => {
    if (done) return;
    done = true;
    current = null;
    if (illegalInstruction(code, signal) && index + 1 < binaries.length) {
      if (!warned) {
        process.stderr.write(messages.sigillFallback(manifest, {
          from: bin.package, to: binaries[index + 1].package,
        }));
      }
      run(result, index + 1, true, unwatch);
      return;
    }
    unwatch();
    if (signal) {
      dieLike(signal);
      return;
    }
    process.exit(code === null ? 1 : code);
  });
}

function main() {
  const result = resolveBinary(manifest, realHost());
  if (!result.ok) {
    process.stderr.write(result.message);
    process.exitCode = 1;
    return;
  }
  for (const line of result.notices) process.stderr.write(line);
  run(result, 0, false, watchSignals());
}

main();
