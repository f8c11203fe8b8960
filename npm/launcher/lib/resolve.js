'use strict';
// Which native binary to run, as pure functions over a manifest (manifest.json,
// generated per release) and a host object (see detect.js). No function here
// touches the process directly, so tests can describe any machine.

const path = require('path');
const detect = require('./detect.js');
const binary = require('./binary.js');
const manager = require('./manager.js');
const messages = require('./messages.js');

// hostFacts gathers what choosing a package needs: platform, arch, libc on
// Linux, and AVX2 on x64 when a -baseline build is there to choose.
function hostFacts(manifest, host) {
  const facts = {
    platform: host.platform,
    arch: host.arch,
    libc: null,
    libcVia: null,
    avx2: null,
    avx2Via: null,
  };
  if (host.platform === 'linux') {
    const l = detect.detectLibc(host);
    facts.libc = l.libc;
    facts.libcVia = l.via;
  }
  const needsAVX2 = host.arch === 'x64' && manifest.packages.some((p) =>
    p.os === host.platform && p.cpu === host.arch && p.baseline);
  if (needsAVX2) {
    const a = detect.detectAVX2(host);
    facts.avx2 = a.avx2;
    facts.avx2Via = a.via;
  }
  return facts;
}

// candidates lists the manifest's packages that can run on a host with these
// facts, best first. On x64 the full build comes first unless the CPU is known
// to lack AVX2, in which case the -baseline build does; an unknown answer
// counts as AVX2 present, since the launcher falls back on SIGILL. On Linux
// with an unknown libc, glibc builds come before musl builds.
function candidates(manifest, facts) {
  let libcs = [null];
  if (facts.platform === 'linux') libcs = facts.libc ? [facts.libc] : ['glibc', 'musl'];
  const preferBaseline = facts.arch === 'x64' && facts.avx2 === false;
  const out = [];
  for (const libc of libcs) {
    const group = manifest.packages.filter((p) =>
      p.os === facts.platform && p.cpu === facts.arch && (libc === null || p.libc === libc));
    group.sort((a, b) => rank(a) - rank(b));
    out.push.apply(out, group);
  }
  return out;

  function rank(p) {
    return Boolean(p.baseline) === preferBaseline ? 0 : 1;
  }
}

// locate finds an installed platform package through host.resolve (that is,
// require.resolve from the launcher's own directory). It returns null when
// the package is not installed.
function locate(entry, host) {
  const packageJSON = host.resolve(entry.package + '/package.json');
  if (!packageJSON) return null;
  let version = null;
  try {
    version = JSON.parse(String(host.readFile(packageJSON))).version || null;
  } catch (e) {
    version = null;
  }
  const dir = path.dirname(packageJSON);
  return {
    target: entry.target,
    package: entry.package,
    libc: entry.libc || null,
    dir,
    binPath: path.join(dir, entry.bin),
    version,
  };
}

function fail(kind, message, facts, extra) {
  return Object.assign({ ok: false, kind, message, facts }, extra || {});
}

// relativeTo is target relative to root with forward slashes, for commands
// run in root; the absolute path when target is elsewhere.
function relativeTo(root, target) {
  const rel = path.relative(root, target);
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) return target;
  return rel.split(path.sep).join('/');
}

// examine puts one candidate in a state: notInstalled, version (another
// version than the manifest's), binaryMissing, broken (binary.check said
// why) or runnable.
function examine(manifest, host, facts, mgr, cand) {
  const loc = locate(cand, host);
  if (!loc) return { cand, state: 'notInstalled' };
  loc.packageDir = relativeTo(mgr.root, loc.dir);
  if (loc.version !== manifest.version) return { cand, loc, state: 'version' };
  const problem = binary.check(host.inspect(loc.binPath), facts, { exists: host.exists });
  if (problem && problem.problem === 'missing') return { cand, loc, state: 'binaryMissing' };
  if (problem) return { cand, loc, state: 'broken', problem };
  return { cand, loc, state: 'runnable' };
}

// reasonFor is why a candidate does not run, for the fallback notice.
function reasonFor(manifest, ex) {
  switch (ex.state) {
    case 'notInstalled': return { id: 'notInstalled' };
    case 'version': return { id: 'version', vars: { found: ex.loc.version || 'unknown' } };
    case 'binaryMissing': return { id: 'binaryMissing' };
    default: return { id: 'broken', problem: ex.problem };
  }
}

// resolveBinary decides what to run. On success it returns
// {ok: true, override, binaries: [{package, target, binPath, version}],
// notices: [line], facts, mgr} with the binaries in the order to try them and
// the notices to print first; otherwise {ok: false, kind, message, facts}
// where message is ready for stderr.
//
// Order: the override variable named by manifest.envOverride; else the
// candidates for this host located with require.resolve. A candidate runs
// only if it carries manifest.version and its binary passes binary.check.
// When the preferred candidate cannot run and another build for the same C
// library can (the -baseline twin), that one runs with a one-line notice.
function resolveBinary(manifest, host) {
  const cwd = host.cwd ? host.cwd() : undefined;
  const override = host.env[manifest.envOverride];
  if (override) {
    const problem = binary.check(host.inspect(override), { platform: host.platform, arch: host.arch },
      { emulation: true, exists: host.exists });
    if (problem) {
      return fail('overrideBad', messages.overrideBad(manifest, { path: override, problem, platform: host.platform, cwd }), null);
    }
    return {
      ok: true,
      override: true,
      binaries: [{ package: null, target: null, binPath: override, version: null }],
      notices: [],
      facts: null,
      mgr: null,
    };
  }

  const facts = hostFacts(manifest, host);
  const label = messages.hostLabel(facts);
  const cands = candidates(manifest, facts);
  if (cands.length === 0) {
    return fail('unsupportedPlatform', messages.unsupportedPlatform(manifest, {
      host: label,
      supported: manifest.packages.map((p) => p.target),
      platform: host.platform,
    }), facts);
  }

  const mgr = manager.detectManager(host);
  const ctx = { mgr, cwd, platform: host.platform };
  const exams = cands.map((c) => examine(manifest, host, facts, mgr, c));
  const runnable = exams.filter((e) => e.state === 'runnable');
  if (runnable.length > 0) {
    const notices = [];
    const first = exams[0];
    const chosen = runnable[0];
    if (first !== chosen && (first.cand.libc || null) === (chosen.cand.libc || null)) {
      notices.push(messages.fallback(manifest, {
        from: first.cand.package, to: chosen.cand.package, reason: reasonFor(manifest, first),
      }));
    }
    return {
      ok: true,
      override: false,
      binaries: runnable.map((e) => ({
        package: e.loc.package, target: e.loc.target, binPath: e.loc.binPath, version: e.loc.version,
        packageDir: e.loc.packageDir,
      })),
      notices,
      facts,
      mgr,
    };
  }

  const of = (state) => exams.filter((e) => e.state === state);
  if (of('version').length > 0) {
    const mismatched = of('version');
    let pins = [];
    for (const e of mismatched) pins = pins.concat(manager.findPins(host, mgr, e.loc.package));
    return fail('versionMismatch', messages.versionMismatch(manifest, Object.assign({}, ctx, {
      mismatched: mismatched.map((e) => ({ package: e.loc.package, version: e.loc.version || 'unknown' })),
      pins,
    })), facts, { mgr });
  }
  if (of('broken').length > 0) {
    return fail('binaryBroken', messages.binaryBroken(manifest, Object.assign({}, ctx, {
      broken: of('broken').map((e) => ({ package: e.loc.package, path: e.loc.binPath, packageDir: e.loc.packageDir, problem: e.problem })),
    })), facts, { mgr });
  }
  if (of('binaryMissing').length > 0) {
    return fail('binaryMissing', messages.binaryMissing(manifest, Object.assign({}, ctx, {
      missing: of('binaryMissing').map((e) => ({ package: e.loc.package, path: e.loc.binPath, packageDir: e.loc.packageDir })),
    })), facts, { mgr });
  }

  const looked = cands.map((c) => c.package);
  const others = manifest.packages
    .filter((p) => cands.indexOf(p) === -1)
    .filter((p) => host.resolve(p.package + '/package.json'))
    .map((p) => p.package);
  if (others.length > 0) {
    return fail('copiedNodeModules', messages.copiedNodeModules(manifest, Object.assign({}, ctx, {
      host: label, looked, found: others,
    })), facts, { mgr });
  }
  return fail('notInstalled', messages.notInstalled(manifest, Object.assign({}, ctx, { host: label, looked })), facts, { mgr });
}

module.exports = { hostFacts, candidates, locate, resolveBinary };
