package publish

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/agent-facets/release/internal/build"
	"github.com/agent-facets/release/internal/command"
	"github.com/agent-facets/release/internal/fanout"
	"github.com/agent-facets/release/internal/library"
	"github.com/agent-facets/release/internal/npmcli"
	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/pack"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/tarball"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/version"
	"github.com/agent-facets/release/platforms"
)

// Platform checks, packs and publishes the platform package of one target.
func Platform(ctx context.Context, e *toolkit.Env, target, v string, o Options) (outcome.Record, error) {
	t, err := e.Cfg.Target(target)
	if err != nil {
		return outcome.Fail(target, v, err), err
	}
	name := e.Cfg.PlatformPackage(t.Name)
	p, err := packBuilt(e, t, v)
	if err != nil {
		err = fmt.Errorf("%s@%s not published: %w", name, v, err)
		return outcome.Fail(name, v, err), err
	}
	for _, n := range p.Notes {
		e.Out.Line(report.Warn, "%s: %s", name, n)
	}
	rec, err := One(ctx, e, p, o)
	rec.Target = t.Name
	return rec, err
}

// packBuilt packs t's platform package at v from a binary that passes the
// artifact checks and that the build manifest vouches for at v, in a
// checkout whose CLI is at v (see build.Vouch, build.CheckSourceVersion).
func packBuilt(e *toolkit.Env, t platforms.Target, v string) (*pack.Package, error) {
	if _, err := version.Validate(v); err != nil {
		return nil, err
	}
	if err := build.CheckSourceVersion(e, v); err != nil {
		return nil, err
	}
	c, err := pack.PlatformContents(e, t, v)
	if err != nil {
		return nil, err
	}
	if err := build.Vouch(e, t, v); err != nil {
		return nil, err
	}
	return pack.Write(e, c)
}

// Platforms publishes several platform packages concurrently, as the CI
// matrix does. The error names every target that failed.
func Platforms(ctx context.Context, e *toolkit.Env, targets []string, v string, o Options) ([]outcome.Record, error) {
	recs := fanout.Each(6, targets, func(_ int, t string) outcome.Record {
		r, err := Platform(ctx, e, t, v, o)
		if err != nil {
			e.Out.Line(report.Failed, "%s: %v", t, err)
		}
		return r
	})
	var failed []string
	for i, r := range recs {
		if r.Action == outcome.Failed || r.Action == outcome.Different {
			failed = append(failed, targets[i])
		}
	}
	if len(failed) > 0 {
		return recs, fmt.Errorf("publishing failed for %d target(s): %s; run `mage publishPlatform <target>` again for each (published ones are skipped as identical)", len(failed), strings.Join(failed, ", "))
	}
	return recs, nil
}

// MissingPlatformsError: publishCLI found platform packages that are not on
// the registry at the release version, and published nothing.
type MissingPlatformsError struct {
	Version string
	Missing []string // "name (why)"
	Targets []string
	// Staged is set in stage mode: the packages are neither staged nor
	// published, and the CLI package was not staged.
	Staged bool
}

func (e *MissingPlatformsError) Error() string {
	cmds := make([]string, len(e.Targets))
	for i, t := range e.Targets {
		cmds[i] = "mage publishPlatform " + t
	}
	if e.Staged {
		return fmt.Sprintf("%d platform package(s) are neither staged nor published at %s, so the CLI package was not staged (its approval would give users a partial release): %s. Stage them (%s -mode=stage), then run publishCLI again",
			len(e.Missing), e.Version, strings.Join(e.Missing, ", "), strings.Join(cmds, " -mode=stage; "))
	}
	return fmt.Sprintf("%d platform package(s) are not on the registry at %s, so the CLI package was not published (users would get a partial release): %s. Publish them (%s), then run publishCLI again",
		len(e.Missing), e.Version, strings.Join(e.Missing, ", "), strings.Join(cmds, "; "))
}

// CLI confirms every platform package at version v (with the integrity of
// the local build when its binary is at hand, else of the record packing
// left beside its tarball), then publishes the CLI package and verifies it.
func CLI(ctx context.Context, e *toolkit.Env, v string, o Options) ([]outcome.Record, error) {
	if _, err := version.Validate(v); err != nil {
		return nil, err
	}
	if err := version.CheckTag(Tag(e, v, o.Tag)); err != nil {
		return nil, fmt.Errorf("the CLI package was not published: %w", err)
	}
	if err := build.CheckSourceVersion(e, v); err != nil {
		return nil, fmt.Errorf("the CLI package was not published: %w", err)
	}
	if err := LibrariesReady(ctx, e, o); err != nil {
		return nil, err
	}
	var xs []Expect
	local := 0
	for _, t := range e.Cfg.PlatformTargets() {
		x := Expect{Name: e.Cfg.PlatformPackage(t.Name), Version: v}
		if _, err := os.Stat(e.Cfg.BinaryPath(t)); err == nil {
			// Tarballs are deterministic: the local build's integrity is
			// what the registry must have.
			info, err := platformIntegrity(e, t.Name, v)
			if err != nil {
				return nil, err
			}
			x.Integrity, x.Shasum = info.Integrity, info.Shasum
			local++
		} else if rec, err := pack.ReadRecord(e, x.Name, v); err == nil {
			// The record a publishPlatform job left beside its tarball,
			// when the binaries stayed in that job.
			x.Integrity = rec.Integrity
			local++
		}
		xs = append(xs, x)
	}
	if Staging(e, o) {
		return stageCLI(ctx, e, v, xs, local, o)
	}
	e.Out.Line(report.Wait, "confirming %d platform packages at %s (%d compared with the local build or its records)", len(xs), v, local)
	c := o.Confirm
	c.Env = e
	if c.Deadline == 0 {
		// The public registry's CDN may lag a publish by about five minutes.
		c.Deadline = 5 * time.Minute
	}
	if err := c.Wait(ctx, fmt.Sprintf("all %d platform packages at %s", len(xs), v), xs); err != nil {
		var nv *NotVisibleError
		if errors.As(err, &nv) {
			me := &MissingPlatformsError{Version: v, Missing: nv.Pending}
			for _, p := range nv.Pending {
				name, _, _ := strings.Cut(p, "@"+v)
				me.Targets = append(me.Targets, strings.TrimPrefix(name, e.Cfg.Scope+"/"+e.Cfg.CLI.PlatformPrefix))
			}
			return nil, me
		}
		return nil, fmt.Errorf("the CLI package was not published: %w", err)
	}
	p, err := pack.CLI(e, v)
	if err != nil {
		return nil, err
	}
	rec, err := One(ctx, e, p, o)
	return []outcome.Record{rec}, err
}

func platformIntegrity(e *toolkit.Env, target, v string) (tarball.Info, error) {
	t, err := e.Cfg.Target(target)
	if err != nil {
		return tarball.Info{}, err
	}
	p, err := packBuilt(e, t, v)
	if err != nil {
		return tarball.Info{}, fmt.Errorf("the CLI package was not published: %w", err)
	}
	return p.Info, nil
}

// Installable checks, by installing it into a scratch project with the
// real npm, that name@v installs from the registry and its command runs.
// It returns the command's output.
func Installable(ctx context.Context, e *toolkit.Env, name, v, bin string, args ...string) (string, error) {
	dir, err := os.MkdirTemp("", "install-check-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"install-check","private":true}`), 0o644); err != nil {
		return "", err
	}
	reg, err := e.Registry(ctx, name)
	if err != nil {
		return "", err
	}
	if _, err := e.NPM.Do(ctx, npmcli.Call{Dir: dir, Args: []string{"install", name + "@" + v, "--registry", reg, "--no-audit", "--no-fund", "--prefer-online"}}); err != nil {
		return "", fmt.Errorf("npm install %s@%s: %w", name, v, err)
	}
	out, err := e.Run.Output(ctx, command.Cmd{Name: filepath.Join(dir, "node_modules", ".bin", bin), Args: args})
	if err != nil {
		return out, fmt.Errorf("%s after installing %s@%s: %w", strings.Join(append([]string{bin}, args...), " "), name, v, err)
	}
	return out, nil
}

// InstallLibraries installs libs from the registry into a scratch project
// with the real npm, as a user would, and checks them there
// (library.VerifyInstall: versions, rewritten dependencies, no workspace:
// range, an import() of each in Node). It returns what each exports.
func InstallLibraries(ctx context.Context, e *toolkit.Env, libs []library.Expected) (map[string][]string, error) {
	dir, err := os.MkdirTemp("", "install-libraries-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"install-check","private":true,"type":"module"}`), 0o644); err != nil {
		return nil, err
	}
	args := []string{"install", "--no-audit", "--no-fund", "--prefer-online"}
	if len(libs) > 0 {
		reg, err := e.Registry(ctx, libs[0].Name)
		if err != nil {
			return nil, err
		}
		args = append(args, "--registry", reg)
	}
	if _, err := e.NPM.Do(ctx, npmcli.Call{Dir: dir, Args: append(args, library.Specs(libs)...)}); err != nil {
		return nil, fmt.Errorf("npm install %s: %w", strings.Join(library.Specs(libs), " "), err)
	}
	return library.VerifyInstall(ctx, e.Run, dir, libs)
}
