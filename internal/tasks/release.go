package tasks

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/magefile/mage/mg"

	"github.com/agent-facets/release/internal/approve"
	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/toolkit"
)

// Release groups a maintainer's targets for a staged release.
type Release mg.Namespace

// Approve checks a staged release against what CI built, then approves the platform packages and libraries, and the CLI package last.
//
// Stage mode: CI staged every package (npm stage publish). This lists what
// is staged for the version (the CLI package, the platform packages, the
// libraries at their workspace versions), checks each staged tarball's
// sha512 against the integrities in the CI jobs' JSON reports (-reports)
// or, without it, against the local build in dist, and refuses, naming
// every package, if one is missing or differs: then nothing is approved.
// Otherwise it approves the platform packages and the libraries, waits
// until the registry serves them, and approves the CLI package last.
// Already-published identical versions are skipped, so a re-run after any
// failure finishes the release.
//
// A library released on its own tag is approved by that tag instead of a
// version (release:approve @agent-facets/adapter@0.19.0 -reports=...), the
// library alone, checked against the report of the job that staged it.
//
// 2FA: one one-time password (NPM_OTP) serves every approval while npm
// accepts it; in a terminal you are asked for it, and asked again when npm
// refuses it. Without a terminal a refused code stops the run, saying what
// is approved and what is left: run it again with a fresh NPM_OTP.
//
// Environment: NPM_OTP, RELEASE_CONFIG, RELEASE_REPORT, npm's login.
//
// Example: NPM_OTP=123456 go tool mage release:approve 1.2.3 -reports=ci-reports
func (Release) Approve(ctx context.Context,
	version string, // the staged release version, e.g. 1.2.3, or a library's tag, e.g. @agent-facets/adapter@0.19.0
	reports *string, // a directory of the CI jobs' RELEASE_REPORT files (default: compare with the local build)
) error {
	return maintaining("release:approve", version, func(e *toolkit.Env, v string, o approve.Options) ([]outcome.Record, error) {
		o.Reports = str(reports)
		if approve.IsLibraryTag(e, v) {
			e.Out.Heading("Approving the staged library release %s", v)
		} else {
			e.Out.Heading("Approving the staged release %s@%s", e.Cfg.CLI.Package, v)
		}
		return approve.Approve(ctx, e, v, o)
	})
}

// Reject deletes, unapproved, everything staged for a release version: the CLI package first.
//
// Published versions are left alone (they cannot be rejected). A library's
// tag instead of a version rejects that library alone. Needs a one-time
// password as release:approve does.
//
// Environment: NPM_OTP, RELEASE_CONFIG, RELEASE_REPORT, npm's login.
//
// Example: NPM_OTP=123456 go tool mage release:reject 1.2.3
func (Release) Reject(ctx context.Context,
	version string, // the staged release version, e.g. 1.2.3, or a library's tag
) error {
	return maintaining("release:reject", version, func(e *toolkit.Env, v string, o approve.Options) ([]outcome.Record, error) {
		if approve.IsLibraryTag(e, v) {
			e.Out.Heading("Rejecting what is staged for %s", v)
		} else {
			e.Out.Heading("Rejecting what is staged for %s@%s", e.Cfg.CLI.Package, v)
		}
		return approve.Reject(ctx, e, v, o)
	})
}

// maintaining runs a maintainer's operation on a staged release: the
// one-time password from NPM_OTP, or asked for in a terminal; the summary
// and the report as the publishing targets write them.
func maintaining(operation, version string, op func(e *toolkit.Env, v string, o approve.Options) ([]outcome.Record, error)) error {
	return withEnv(func(e *toolkit.Env) error {
		start := time.Now()
		v, err := version, error(nil)
		if !approve.IsLibraryTag(e, version) {
			v, err = e.Version(version)
		}
		var recs []outcome.Record
		if err == nil {
			o := approve.Options{OTP: e.Facts.OTP}
			if e.Facts.Interactive {
				o.AskOTP = terminalOTP()
			}
			recs, err = op(e, v, o)
		}
		return finish(e, operation, v, start, recs, err)
	})
}

// terminalOTP asks the person at the terminal for a one-time password.
func terminalOTP() func(ctx context.Context, prompt string) (string, error) {
	var (
		once sync.Once
		in   *bufio.Reader
	)
	return func(ctx context.Context, prompt string) (string, error) {
		once.Do(func() { in = bufio.NewReader(os.Stdin) })
		fmt.Fprint(os.Stdout, prompt)
		line, err := in.ReadString('\n')
		if code := strings.TrimSpace(line); code != "" {
			return code, nil
		}
		if err != nil {
			return "", fmt.Errorf("no one-time password entered: %w", err)
		}
		return "", errors.New("no one-time password entered")
	}
}
