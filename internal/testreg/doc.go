// Package testreg runs a real local npm registry for tests: a pinned Verdaccio
// on a loopback port, behind a front server that emulates the parts of npm's
// registry Verdaccio lacks (trusted publisher configuration, OIDC token
// exchange, staged publishing, one-time passwords) and injects faults.
//
// A test starts one with Start, creates a user with AddUser, and runs the real
// npm CLI with the environment from NpmEnv:
//
//	reg := testreg.Start(t)
//	token := reg.AddUser(t, "alice")
//	cmd := exec.Command("npm", "publish")
//	cmd.Env = append(os.Environ(), reg.NpmEnv(t, token)...)
//
// Everything listens on 127.0.0.1 only and Verdaccio has no uplinks, so
// nothing a test does reaches a public registry. Verdaccio itself is installed
// on first use with `npm ci` into internal/testreg/verdaccio (see
// EnsureInstalled). A Start costs about one second (Node booting Verdaccio).
//
// The front emulates, from the npm CLI's own client code:
//
//   - GET/POST /-/package/<name>/trust and DELETE /-/package/<name>/trust/<id>
//     (npm trust circleci|github|gitlab|list|revoke); one configuration per
//     package, 409 on a second. SetTrust and Trust reach the store directly.
//   - POST /-/npm/v1/oidc/token/exchange/package/<name> (npm publish on
//     CircleCI, GitHub Actions): ID tokens signed by Registry.Issuer with
//     aud "npm:127.0.0.1" are exchanged for an npm_ token that may publish
//     that one package until it expires. GitHubActionsEnv emulates GitHub's
//     token service; InstallFakeCircleCI provides a `circleci` CLI.
//   - /-/stage/... (npm stage publish|list|view|approve|reject|download).
//   - RequireOTP: 401 with `www-authenticate: OTP` unless npm-otp matches.
//     `npm trust` does not declare --otp, so pass it as --otp=<code> (the
//     spaced form is read as a positional argument there).
//
// Inject, HideVersion, Requests and PublishCount disturb and observe all
// traffic through URL, from npm and Go clients alike.
package testreg
