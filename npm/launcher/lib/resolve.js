'use strict';
// Which native binary to run, as pure functions over a manifest (manifest.json,
// generated per release) and a host object (see detect.js). No function here
// touches the process directly, so tests can describe any machine.

const path = require('path');
const detect = require('./detect.js');
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
  const binPath = path.join(dir, entry.bin);
  return {
    target: entry.target,
    package: entry.package,
    dir,
    binPath,
    version,
    binaryExists: host.exists(binPath),
  };
}

function fail(kind, message, facts) {
  return { ok: false, kind, message, facts };
}

// resolveBinary decides what to run. On success it returns
// {ok: true, override, binaries: [{package, target, binPath, version}], facts}
// with the binaries in the order to try them; otherwise
// {ok: false, kind, message, facts} where message is ready for stderr.
//
// Order: the override variable named by manifest.envOverride; else the
// candidates for this host located with require.resolve. Every installed
// candidate must carry manifest.version.
function resolveBinary(manifest, host) {
  const override = host.env[manifest.envOverride];
  if (override) {
    if (!host.exists(override)) {
      return fail('overrideMissing', messages.overrideMissing(manifest, { path: override }), null);
    }
    return {
      ok: true,
      override: true,
      binaries: [{ package: null, target: null, binPath: override, version: null }],
      facts: null,
    };
  }

  const facts = hostFacts(manifest, host);
  const label = messages.hostLabel(facts);
  const cands = candidates(manifest, facts);
  if (cands.length === 0) {
    return fail('unsupportedPlatform', messages.unsupportedPlatform(manifest, {
      host: label,
      supported: manifest.packages.map((p) => p.target),
    }), facts);
  }

  const found = cands.map((c) => locate(c, host)).filter(Boolean);
  const mismatched = found.filter((f) => f.version !== manifest.version);
  if (mismatched.length > 0) {
    return fail('versionMismatch', messages.versionMismatch(manifest, {
      mismatched: mismatched.map((f) => ({ package: f.package, version: f.version || 'unknown' })),
    }), facts);
  }

  const runnable = found.filter((f) => f.binaryExists);
  if (runnable.length > 0) {
    return {
      ok: true,
      override: false,
      binaries: runnable.map((f) => ({
        package: f.package, target: f.target, binPath: f.binPath, version: f.version,
      })),
      facts,
    };
  }

  const looked = cands.map((c) => c.package);
  if (found.length > 0) {
    return fail('binaryMissing', messages.binaryMissing(manifest, {
      missing: found.map((f) => ({ package: f.package, path: f.binPath })),
    }), facts);
  }

  const others = manifest.packages
    .filter((p) => cands.indexOf(p) === -1)
    .filter((p) => host.resolve(p.package + '/package.json'))
    .map((p) => p.package);
  if (others.length > 0) {
    return fail('copiedNodeModules', messages.copiedNodeModules(manifest, {
      host: label, looked, found: others,
    }), facts);
  }
  return fail('notInstalled', messages.notInstalled(manifest, { host: label, looked }), facts);
}

module.exports = { hostFacts, candidates, locate, resolveBinary };
