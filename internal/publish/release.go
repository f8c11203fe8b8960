package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bitfield/script"

	"github.com/agent-facets/release/internal/build"
	"github.com/agent-facets/release/internal/command"
	"github.com/agent-facets/release/internal/fanout"
	"github.com/agent-facets/release/internal/npmcli"
	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/pack"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/tarball"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/version"
	"github.com/agent-facets/release/internal/workspace"
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
}

func (e *MissingPlatformsError) Error() string {
	cmds := make([]string, len(e.Targets))
	for i, t := range e.Targets {
		cmds[i] = "mage publishPlatform " + t
	}
	return fmt.Sprintf("%d platform package(s) are not on the registry at %s, so the CLI package was not published (users would get a partial release): %s. Publish them (%s), then run publishCLI again",
		len(e.Missing), e.Version, strings.Join(e.Missing, ", "), strings.Join(cmds, "; "))
}

// CLI confirms every platform package at version v (with the integrity of
// the local build when its binary is at hand), then publishes the CLI
// package and verifies it.
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
			x.Integrity = info.Integrity
			local++
		}
		xs = append(xs, x)
	}
	e.Out.Line(report.Wait, "confirming %d platform packages at %s (%d compared with the local build)", len(xs), v, local)
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

// Adapters publishes every adapter package of the workspace whose version
// is not on the registry, in dependency order. Adapters are packed with
// `npm pack` (npm's own file rules: "files", .npmignore).
func Adapters(ctx context.Context, e *toolkit.Env, o Options) ([]outcome.Record, error) {
	pkgs, err := e.Adapters()
	if err != nil {
		return nil, err
	}
	if err := refusePrivateDependencies(e, pkgs); err != nil {
		return nil, err
	}
	var recs []outcome.Record
	for _, wp := range pkgs {
		if wp.Dir == "" {
			err := fmt.Errorf("%s: adapters listed by name in %s cannot be published by this target (it needs their sources): use adapters.workspace", wp.Name, e.Cfg.File)
			return recs, err
		}
		p, err := npmPack(ctx, e, wp)
		if err != nil {
			recs = append(recs, outcome.Fail(wp.Name, wp.Version, err))
			return recs, err
		}
		rec, err := One(ctx, e, p, o)
		recs = append(recs, rec)
		if err != nil {
			// Later adapters may depend on this one: stop here.
			return recs, fmt.Errorf("%w; adapters after it were not published", err)
		}
	}
	return recs, nil
}

// refusePrivateDependencies refuses, before anything is packed or written,
// to publish a package that depends (dependencies, optionalDependencies,
// peerDependencies) on a private package of the workspace: nobody could
// install it. It is the one check of the library lint that must hold
// before the full lint.
func refusePrivateDependencies(e *toolkit.Env, pkgs []workspace.Package) error {
	if e.Cfg.Adapters.Workspace == "" {
		return nil
	}
	all, err := workspace.Discover(e.Cfg.Path(e.Cfg.Adapters.Workspace))
	if err != nil {
		return err
	}
	private := map[string]string{}
	for _, p := range all {
		if p.Private {
			private[p.Name] = p.Dir
		}
	}
	var bad []string
	for _, p := range pkgs {
		for _, d := range p.Deps {
			if dir, ok := private[d]; ok {
				bad = append(bad, fmt.Sprintf("%s depends on %s, which is private (%s)", p.Name, d, filepath.Join(dir, "package.json")))
			}
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("nothing was published: %s; a published package that needs a private one cannot be installed: publish the dependency too (remove \"private\"), or move it to devDependencies if only the build needs it", strings.Join(bad, "; "))
	}
	return nil
}

// npmPack packs a workspace package with npm into the dist directory.
func npmPack(ctx context.Context, e *toolkit.Env, wp workspace.Package) (*pack.Package, error) {
	if _, err := version.Validate(wp.Version); err != nil {
		return nil, fmt.Errorf("%s (%s): %w", wp.Name, wp.Dir, err)
	}
	dest := filepath.Join(pack.Dir(e), "adapters")
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return nil, err
	}
	out, err := e.NPM.Run(ctx, nil, "pack", wp.Dir, "--json", "--ignore-scripts", "--pack-destination", dest)
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", wp.Name, err)
	}
	filename, err := script.Echo(out).JQ(".[0].filename // empty").String()
	var name string
	if err == nil {
		err = json.Unmarshal([]byte(filename), &name)
	}
	if err != nil || name == "" {
		return nil, fmt.Errorf("pack %s: npm pack --json printed no result", wp.Name)
	}
	path := filepath.Join(dest, name)
	info, err := tarball.Integrity(path)
	if err != nil {
		return nil, err
	}
	return &pack.Package{Name: wp.Name, Version: wp.Version, Tarball: path, Info: info}, nil
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
