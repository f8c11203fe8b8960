// Package localregistry is the toolkit's throwaway npm registry: a pinned
// Verdaccio on a loopback port, with storage, users and configuration of
// its own, behind a front server that emulates the parts of npm's registry
// Verdaccio lacks (trusted publisher configuration, OIDC token exchange,
// staged publishing, one-time passwords, a CI token service) and can inject
// faults. `mage rehearse` releases to one, `mage bench` measures against
// them, and the tests publish to them with the real npm CLI
// (localregistrytest starts one per test).
//
//	reg, err := localregistry.New(localregistry.WithRunner(run))
//	defer reg.Close()
//	token, err := reg.CreateUser("alice")
//	env, err := reg.WriteNpmEnv(dir, token) // add to npm's environment
//
// Everything listens on 127.0.0.1 only and Verdaccio has no uplinks, so
// nothing reaches a public registry. Verdaccio itself is installed on first
// use with `npm ci` from the lock file compiled into the toolkit, into the
// user's cache directory (see Install). A New costs about one second (Node
// booting Verdaccio); Close stops it and removes its storage.
//
// The front emulates, from the npm CLI's own client code:
//
//   - GET/POST /-/package/<name>/trust and DELETE /-/package/<name>/trust/<id>
//     (npm trust circleci|github|gitlab|list|revoke); one configuration per
//     package, 409 on a second. SetTrust and Trust reach the store directly.
//   - POST /-/npm/v1/oidc/token/exchange/package/<name> (npm publish on
//     CircleCI, GitHub Actions): ID tokens signed by Registry.Issuer with
//     aud "npm:" + the host the client reached it by (127.0.0.1, or
//     localhost) are exchanged for an npm_ token that may publish
//     that one package until it expires. GitHubActionsEnv emulates GitHub's
//     token service; WriteFakeCircleCI provides a `circleci` CLI that mints
//     through the same service.
//   - /-/stage/... (npm stage publish|list|view|approve|reject|download):
//     a trusted publisher stages only with createStagedPackage and publishes
//     only with createPackage; a package's staged versions are readable
//     without a user unless RefuseAnonymousStageReads; approve and reject
//     always need the one-time password OTP returns. Staged versions are in
//     no packument until approved. Publishes lists what became public, in
//     order; StagedPublishes what waits.
//   - RequireOTP: 401 with `www-authenticate: OTP` unless npm-otp matches.
//     `npm trust` does not declare --otp, so pass it as --otp=<code> (the
//     spaced form is read as a positional argument there).
//
// Inject, Hide, HideVersion, Requests, Await and PublishCount disturb and
// observe all traffic through URL, from npm and Go clients alike (a Fault
// may also redirect, with Location); WithClock lets a caller move the
// registry's time on instead of waiting. WithTLS serves URL over HTTPS with
// a certificate authority of its own (CAFile). StartProxy runs a forward
// proxy that can be the only way to a registry, for npm's proxy settings.
package localregistry
