#!/usr/bin/env node
// A stand-in for the CircleCI CLI, written by the toolkit's local registry.
// It implements only `circleci run oidc get [--claims '{"aud":"..."}']`,
// printing an ID token on stdout as the real command does inside a CircleCI
// job. It asks the local registry's emulated token service for the token
// (circleci-oidc.json next to this file says where). As on CircleCI, only
// the aud claim can be customised. FAKE_CIRCLECI_FAIL=<message> makes it
// fail with that message.
'use strict'
const fs = require('fs')
const path = require('path')

function fail (msg) {
  process.stderr.write('Error: ' + msg + '\n')
  process.exit(1)
}

if (process.env.FAKE_CIRCLECI_FAIL) fail(process.env.FAKE_CIRCLECI_FAIL)
const args = process.argv.slice(2)
if (args.slice(0, 3).join(' ') !== 'run oidc get') {
  fail('unsupported command "' + args.join(' ') + '": this stand-in only implements `circleci run oidc get`')
}
let custom = {}
const rest = args.slice(3)
for (let i = 0; i < rest.length; i++) {
  let val
  if (rest[i] === '--claims' && i + 1 < rest.length) val = rest[++i]
  else if (rest[i].startsWith('--claims=')) val = rest[i].slice('--claims='.length)
  else fail('unknown flag "' + rest[i] + '"')
  try { custom = JSON.parse(val) } catch (e) { fail('--claims is not a JSON object: ' + e.message) }
}
for (const k of Object.keys(custom)) {
  if (k !== 'aud') fail('claim "' + k + '" cannot be customised: only aud can')
}
const spec = JSON.parse(fs.readFileSync(path.join(__dirname, 'circleci-oidc.json'), 'utf8'))
const url = new URL(spec.url)
if (custom.aud !== undefined) url.searchParams.set('audience', custom.aud)
fetch(url, { headers: { authorization: 'Bearer ' + spec.token } })
  .then(async (res) => {
    const body = await res.json().catch(() => ({}))
    if (!res.ok || !body.value) fail('the token service answered ' + res.status + ': ' + (body.error || ''))
    process.stdout.write(body.value + '\n')
  })
  .catch((e) => fail('cannot reach the token service: ' + e.message))
