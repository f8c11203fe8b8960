#!/usr/bin/env node
'use strict';
// The CLI package's bin: finds the native binary from the platform package the
// package manager installed (see lib/resolve.js), runs it with this process's
// arguments and stdio, forwards signals to it, and exits the way it exited.
// If a build dies with an illegal instruction (an AVX2 build on a CPU without
// AVX2), or cannot be started, the next candidate, the -baseline build, runs
// instead.
//
// Signals. Node cannot tell who sent a signal (its handlers get the signal's
// name, not the sender's pid), and the binary runs in this process's process
// group, so a signal sent to the whole group (kill -- -PGID, a terminal's
// Ctrl-C) reaches the binary by itself, while one sent to this pid alone
// reaches only the launcher. The launcher therefore decides by where it
// runs:
//   - SIGINT, SIGQUIT and SIGHUP are what a terminal sends to its foreground
//     process group (Ctrl-C, Ctrl-\, hangup). When the launcher is in the
//     foreground process group of its controlling terminal they already
//     reached the binary and are not forwarded; otherwise they are.
//   - SIGTERM, SIGUSR1 and SIGUSR2 no terminal sends: they are forwarded.
// So: Ctrl-C reaches the binary once whether stdin is the terminal or
// redirected; a signal sent to the launcher's pid alone reaches it once,
// except SIGINT/SIGQUIT/SIGHUP from another process while the launcher runs
// in the foreground of a terminal (dropped); and a SIGTERM (or, without a
// terminal, SIGINT/SIGHUP) sent to the whole process group, or by systemd to
// every process of a unit, reaches it twice. Keeping the binary in the
// launcher's process group keeps its controlling terminal and job control
// (Ctrl-Z) intact, and a SIGKILL sent to the group still ends it.
// SIGUSR1 is listened to so that it reaches the binary instead of starting
// Node's inspector. On Windows a console Ctrl-C reaches the child by itself;
// the launcher only has to stay alive until the child exits.

const os = require('os');
const fs = require('fs');
const childProcess = require('child_process');
const tty = require('tty');
const manifest = require('../lib/manifest.json');
const { realHost } = require('../lib/host.js');
const { resolveBinary } = require('../lib/resolve.js');
const messages = require('../lib/messages.js');

// Windows reports an illegal instruction as this exit code, not a signal.
const STATUS_ILLEGAL_INSTRUCTION = 0xC000001D;

const POSIX_SIGNALS = ['SIGTERM', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGINT', 'SIGQUIT'];
const TERMINAL_SIGNALS = ['SIGINT', 'SIGQUIT', 'SIGHUP'];
const WINDOWS_SIGNALS = ['SIGINT', 'SIGBREAK'];

// The variable that makes the launcher say on stderr which build it runs and
// what it does with each signal.
const DEBUG = process.env[manifest.envDebug];

function debug(line) {
  if (DEBUG) process.stderr.write(manifest.name + ': ' + line + '\n');
}

function illegalInstruction(code, signal) {
  if (signal === 'SIGILL') return true;
  return process.platform === 'win32' &&
    (code === STATUS_ILLEGAL_INSTRUCTION || code === STATUS_ILLEGAL_INSTRUCTION - 0x100000000);
}

// foregroundOfTerminal reports whether this process is in the foreground
// process group of its controlling terminal: where a terminal's signals go.
// Linux tells in /proc/self/stat (tty_nr and tpgid); elsewhere ps does; if
// neither answers, a terminal on stdin, stdout or stderr counts as yes.
function foregroundOfTerminal() {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // state ppid pgrp session tty_nr tpgid
    return Number(f[4]) !== 0 && Number(f[5]) === Number(f[2]);
  } catch (e) {
    // Not Linux.
  }
  try {
    const r = childProcess.spawnSync('ps', ['-o', 'tpgid=,pgid=', '-p', String(process.pid)], { encoding: 'utf8' });
    const m = /(-?\d+)\s+(\d+)/.exec(r.stdout || '');
    if (r.status === 0 && m) return Number(m[1]) > 0 && Number(m[1]) === Number(m[2]);
  } catch (e) {
    // No ps.
  }
  // tty.isatty, not process.stdin: opening stdin as a stream would make the
  // terminal non-blocking for the child too.
  return tty.isatty(0) || tty.isatty(1) || tty.isatty(2);
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
      if (TERMINAL_SIGNALS.indexOf(sig) !== -1 && foregroundOfTerminal()) {
        debug(sig + ' not forwarded: the launcher is in the foreground of a terminal, which sent it to the binary too');
        return;
      }
      if (!current) {
        unwatch();
        dieLike(sig);
        return;
      }
      try {
        current.kill(sig);
        debug(sig + ' forwarded to ' + current.pid);
      } catch (e) {
        // The child is already gone; its exit event follows.
        debug(sig + ' not forwarded: the binary has exited');
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
  const num = os.constants.signals[signal] || 0;
  // Without a listener SIGUSR1 would start Node's inspector, not end us.
  if (signal === 'SIGUSR1') process.exit(128 + num);
  try {
    process.kill(process.pid, signal);
  } catch (e) {
    // Fall through to an exit code.
  }
  // Signals whose default action does not terminate leave us here.
  setTimeout(() => process.exit(128 + num), 1000);
}

function run(result, index, warned, unwatch) {
  const binaries = result.binaries;
  const bin = binaries[index];
  debug('running ' + bin.binPath);
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
  const unwatch = watchSignals();
  const result = resolveBinary(manifest, realHost());
  if (!result.ok) {
    unwatch();
    process.stderr.write(result.message);
    process.exitCode = 1;
    return;
  }
  if (result.mgr) debug('installed with ' + result.mgr.id + ' in ' + result.mgr.root + ' (' + result.mgr.via + ')');
  for (const line of result.notices) process.stderr.write(line);
  run(result, 0, false, unwatch);
}

main();
