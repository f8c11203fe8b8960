// Reads npm's configuration the way npm itself does, with npm's own
// modules: @npmcli/config loads every source (command line, environment,
// project, user, global and builtin npmrc) and flattens it as npm's
// commands see it; npm-registry-fetch's pickRegistry picks each package's
// registry, as `npm publish` does. `npm config list --json` cannot be used:
// it leaves out every value holding credentials, such as a scope registry
// https://user:pass@host/.
//
// Run as `node - <npm root> <npm args JSON> <publishConfig JSON> <names JSON>`
// with this script on standard input; prints one JSON object.
'use strict'
const path = require('node:path')
const [npmRoot, argsJSON, publishConfigJSON, namesJSON] = process.argv.slice(2)
const from = (m) => require(require.resolve(m, { paths: [npmRoot] }))

const main = async () => {
  const Config = from('@npmcli/config')
  const { definitions, flatten, nerfDarts, shorthands } = from('@npmcli/config/lib/definitions')
  const { pickRegistry } = from('npm-registry-fetch')
  const npa = from('npm-package-arg')
  const config = new Config({
    npmPath: npmRoot,
    definitions,
    flatten,
    nerfDarts,
    shorthands,
    argv: [process.execPath, path.join(npmRoot, 'bin', 'npm-cli.js'), ...JSON.parse(argsJSON)],
    warn: false,
  })
  await config.load()
  const opts = { ...config.flat }
  // As `npm publish` does with a package's publishConfig: every key but
  // those given on the command line.
  const publishConfig = JSON.parse(publishConfigJSON)
  if (publishConfig && typeof publishConfig === 'object') {
    const cli = config.data.get('cli').raw
    flatten(Object.fromEntries(Object.entries(publishConfig).filter(([k]) => !(k in cli))), opts)
  }
  const out = {
    npmVersion: require(path.join(npmRoot, 'package.json')).version,
    registry: opts.registry,
    scopes: {},
    registries: {},
    // What npm-registry-fetch hands its agent for every request.
    proxy: opts.httpsProxy || opts.proxy || '',
    noProxy: opts.noProxy || '',
    ca: opts.ca == null ? [] : [].concat(opts.ca),
    strictSSL: opts.strictSSL !== false,
    timeout: opts.timeout || 0,
    timeoutSet: !config.isDefault('fetch-timeout'),
    where: {},
    userconfig: config.get('userconfig') || '',
    globalconfig: config.get('globalconfig') || '',
  }
  for (const k of Object.keys(opts)) {
    if (/^@.*:registry$/i.test(k) && opts[k]) {
      out.scopes[k.slice(0, -':registry'.length)] = opts[k]
    }
  }
  for (const name of JSON.parse(namesJSON)) {
    out.registries[name] = pickRegistry(npa(name), opts)
  }
  const keys = ['registry', 'proxy', 'https-proxy', 'noproxy', 'cafile', 'ca', 'strict-ssl', 'fetch-timeout']
  for (const k of [...keys, ...Object.keys(out.scopes).map((s) => s + ':registry')]) {
    const where = config.find(k)
    if (where && where !== 'default') {
      const file = config.data.get(where)?.source
      out.where[k] = file && file !== where ? `${where} config ${file}` : where
    }
  }
  if (publishConfig && typeof publishConfig === 'object') {
    for (const k of Object.keys(publishConfig)) {
      out.where[k] = 'publishConfig in package.json'
    }
  }
  process.stdout.write(JSON.stringify(out))
}

main().catch((e) => {
  process.stderr.write(`cannot read npm's configuration as npm does: ${e && e.message ? e.message : e}\n`)
  process.exit(1)
})
