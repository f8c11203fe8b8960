package rehearse

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"github.com/agent-facets/release/internal/command"
	"github.com/agent-facets/release/internal/localregistry"
	"github.com/agent-facets/release/internal/publisher"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/toolkit"
)

// ServeOptions say where a served registry's files go.
type ServeOptions struct {
	// Facts are the environment's (PATH finds node and npm; ConfigPath the
	// configuration whose trusted publisher the stand-in circleci mints
	// tokens for).
	Facts toolkit.Facts
	// Dir receives the npm configurations, the stand-in circleci and the
	// environment files; it is created (mode 0700) and left in place, and
	// what the run wrote in it (a login token among it) is removed when
	// the run ends.
	Dir string
	// Ready, when set, is called with the two environments once the
	// registry answers (tests use it; people read the printed lines).
	Ready func(maintainer, ci []string)
}

// Serve runs a throwaway local registry until ctx ends, for trying the
// targets by hand: it prints the environment of a maintainer logged in to
// it, and that of a CircleCI job publishing to it with trusted publishing
// (npm without a login, a stand-in circleci minting tokens for the
// configured trusted publisher). Nothing of it outlives the run but Dir.
func Serve(ctx context.Context, o ServeOptions, out *report.Printer) error {
	e, err := toolkit.Load(o.Facts, os.Stdout)
	if err != nil {
		return fmt.Errorf("%w (the stand-in circleci mints tokens for its trusted publisher)", err)
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return err
	}
	// One served registry per directory; the storage a killed one left
	// there goes now.
	lock := flock.New(filepath.Join(o.Dir, ".serve.lock"))
	if ok, err := lock.TryLock(); err != nil || !ok {
		return fmt.Errorf("another localRegistry is serving from %s: stop it, or pass another -dir", o.Dir)
	}
	defer lock.Unlock()
	if stale, _ := filepath.Glob(filepath.Join(o.Dir, "localregistry-*")); len(stale) > 0 {
		for _, d := range stale {
			if os.RemoveAll(d) == nil {
				out.Line(report.Info, "removed %s, left by a local registry that did not stop", d)
			}
		}
	}
	reg, err := localregistry.New(localregistry.WithRunner(&command.Runner{Environ: o.Facts.Environ}), localregistry.WithDir(o.Dir))
	if err != nil {
		return err
	}
	defer reg.Close()
	token, err := reg.CreateUser("maintainer")
	if err != nil {
		return err
	}
	maintainer, err := npmEnv(reg, filepath.Join(o.Dir, "npm-maintainer"), token)
	if err != nil {
		return err
	}
	ci, err := npmEnv(reg, filepath.Join(o.Dir, "npm-ci"), "")
	if err != nil {
		return err
	}
	job, err := ciJob(reg, e.Cfg, filepath.Join(o.Dir, "bin"), command.Getenv(o.Facts.Environ, "PATH"), "", 24*time.Hour)
	if err != nil {
		return err
	}
	// The job's own settings (CI=true, ...) replace the blanked ones.
	ci = command.Merge(ci, job)
	// Approving and rejecting staged packages always need the registry's
	// one-time password.
	maintainer = append(maintainer, "NPM_OTP="+reg.OTP())
	for name, env := range map[string][]string{"maintainer.env": maintainer, "ci.env": ci} {
		if err := os.WriteFile(filepath.Join(o.Dir, name), []byte(strings.Join(env, "\n")+"\n"), 0o600); err != nil {
			return err
		}
	}

	out.Line(report.OK, "local registry at %s (Verdaccio %s, no uplinks), files in %s", reg.URL, localregistry.VerdaccioVersion(), o.Dir)
	provider := e.Cfg.TrustedPublisher.Provider
	out.Heading("A maintainer logged in to it, with its one-time password (seedCLI, trust:attach, status, release:approve):")
	printEnv(out, maintainer)
	out.Heading("A %s job publishing to it with trusted publishing (publishPlatform, publishAdapters, publishCLI):", provider.Name())
	printEnv(out, ci)
	if provider == publisher.GitHub {
		out.Text("\nIts ID tokens are for refs/heads/main: pass -version=<version> to the publishing targets.")
	} else {
		out.Text("\nAdd CIRCLE_TAG=%s<version> for a release job, or CIRCLE_TAG=%s/<name>@<version> for a library's.", e.Cfg.Release.TagPrefix, e.Cfg.Scope)
	}
	out.Text("Stop with Ctrl-C: the registry and its storage are removed.")
	if o.Ready != nil {
		o.Ready(maintainer, ci)
	}
	<-ctx.Done()
	out.Line(report.Info, "stopping the local registry")
	// Its login token, the stand-in circleci and the environments are of
	// a registry that is gone.
	for _, name := range []string{"maintainer.env", "ci.env", "npm-maintainer", "npm-ci", "bin"} {
		os.RemoveAll(filepath.Join(o.Dir, name))
	}
	return nil
}

// printEnv prints env as the shell of this OS sets it.
func printEnv(out *report.Printer, env []string) {
	sorted := append([]string(nil), env...)
	sort.Strings(sorted)
	for _, kv := range sorted {
		k, v, _ := strings.Cut(kv, "=")
		if runtime.GOOS == "windows" {
			out.Text("  $env:%s = '%s'", k, v)
		} else {
			out.Text("  export %s='%s'", k, v)
		}
	}
}
