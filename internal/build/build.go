// Package build runs the configured build command for each target, checks
// every binary against its target, records what it built in a manifest in
// the dist directory (see Vouch), and runs the one this machine can run to
// confirm it reports the release version.
package build

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/bitfield/script"

	"github.com/agent-facets/release/internal/artifact"
	"github.com/agent-facets/release/internal/command"
	"github.com/agent-facets/release/internal/fanout"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/platforms"
)

// Placeholders returns the replacer of the placeholders in the build
// command and environment for target t.
func Placeholders(e *toolkit.Env, t platforms.Target, version string) *strings.Replacer {
	return strings.NewReplacer(
		"{target}", t.Name,
		"{bunTarget}", t.BunTarget,
		"{goos}", t.GOOS,
		"{goarch}", t.GOARCH,
		"{goamd64}", t.GOAMD64,
		"{out}", e.Cfg.BinaryPath(t),
		"{entry}", e.Cfg.CLI.Entry,
		"{version}", version,
		"{binary}", t.BinaryName(e.Cfg.CLI.Binary),
		"{dist}", e.Cfg.Path(e.Cfg.Dist.Dir),
	)
}

// Command returns the build command for t, ready to run.
func Command(e *toolkit.Env, t platforms.Target, version string) command.Cmd {
	ph := Placeholders(e, t, version)
	argv := make([]string, len(e.Cfg.Build.Command))
	for i, a := range e.Cfg.Build.Command {
		argv[i] = ph.Replace(a)
	}
	c := command.Cmd{Name: argv[0], Args: argv[1:], Dir: e.Cfg.Path(e.Cfg.Build.Dir)}
	for _, k := range slices.Sorted(maps.Keys(e.Cfg.Build.Env)) {
		c.Env = append(c.Env, k+"="+ph.Replace(e.Cfg.Build.Env[k]))
	}
	return c
}

// Result is one target's build.
type Result struct {
	Target   platforms.Target
	Binary   string
	Size     int64
	Duration time.Duration
	Err      error

	// Notes are what the artifact check could not confirm (printed as warnings).
	Notes []string
}

// Build builds targets in parallel (at most one per CPU), checks each binary,
// then runs the binary for this machine with --version. The error names every
// target that failed.
func Build(ctx context.Context, e *toolkit.Env, targets []platforms.Target, version string) ([]Result, error) {
	if err := CheckSourceVersion(e, version); err != nil {
		return nil, err
	}
	results := fanout.Each(runtime.NumCPU(), targets, func(_ int, t platforms.Target) Result {
		r := buildOne(ctx, e, t, version)
		if r.Err != nil {
			e.Out.Line(report.Failed, "%s: %v", t.Name, r.Err)
		} else {
			e.Out.Line(report.Added, "%s: %s (%.1f MB, %s)", t.Name, rel(r.Binary), float64(r.Size)/(1<<20), r.Duration.Round(100*time.Millisecond))
		}
		for _, n := range r.Notes {
			e.Out.Line(report.Warn, "%s: %s", t.Name, n)
		}
		return r
	})
	var failed []string
	for _, r := range results {
		if r.Err != nil {
			failed = append(failed, r.Target.Name)
		}
	}
	if len(failed) > 0 {
		return results, fmt.Errorf("build failed for %s", strings.Join(failed, ", "))
	}
	if err := SmokeTest(ctx, e, targets, version); err != nil {
		// A build that does not stamp the version vouches for nothing.
		for _, t := range targets {
			_ = forget(e, t)
		}
		return results, err
	}
	return results, nil
}

func rel(p string) string {
	if wd, err := os.Getwd(); err == nil {
		if r, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
	}
	return p
}

func buildOne(ctx context.Context, e *toolkit.Env, t platforms.Target, version string) Result {
	start := time.Now()
	out := e.Cfg.BinaryPath(t)
	r := Result{Target: t, Binary: out}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		r.Err = err
		return r
	}
	// A failed build must not leave an older binary behind to be published;
	// only a file inside the dist directory is ever removed.
	if inDist(e, out) {
		if err := os.Remove(out); err != nil && !os.IsNotExist(err) {
			r.Err = err
			return r
		}
	}
	// Until this build succeeds, the manifest vouches for nothing here.
	if err := forget(e, t); err != nil {
		r.Err = err
		return r
	}
	cmd := Command(e, t, version)
	var output bytes.Buffer
	cmd.Output = &output
	if _, err := e.Run.Output(ctx, cmd); err != nil {
		r.Err = fmt.Errorf("%w%s", err, indentTail(output.String()))
		return r
	}
	checked, err := artifact.Check(out, t, artifact.Build{Command: e.Cfg.Build.Command, Config: e.Cfg.File, Ran: true})
	if err != nil {
		r.Err = err
		return r
	}
	r.Notes = checked.Notes
	fi, err := os.Stat(out)
	if err != nil {
		r.Err = err
		return r
	}
	if err := record(e, t, version); err != nil {
		r.Err = err
		return r
	}
	r.Size, r.Duration = fi.Size(), time.Since(start)
	return r
}

// inDist reports whether path is inside the dist directory.
func inDist(e *toolkit.Env, path string) bool {
	rel, err := filepath.Rel(e.Cfg.Path(e.Cfg.Dist.Dir), path)
	return err == nil && filepath.IsLocal(rel)
}

// indentTail is the last 15 lines of a build's output, indented under
// the error.
func indentTail(s string) string {
	lines, _ := script.Echo(strings.TrimSpace(s)).Last(15).Slice()
	if len(lines) == 0 || len(lines) == 1 && lines[0] == "" {
		return ""
	}
	return "\n    " + strings.Join(lines, "\n    ")
}

// SmokeTest runs the binary of the best target for this machine among
// targets (if any) with --version and checks it prints version.
func SmokeTest(ctx context.Context, e *toolkit.Env, targets []platforms.Target, version string) error {
	host := platforms.DetectHost()
	for _, c := range host.Candidates() {
		for _, t := range targets {
			if t.Name != c.Name {
				continue
			}
			bin := e.Cfg.BinaryPath(t)
			out, err := e.Run.Output(ctx, command.Cmd{Name: bin, Args: []string{"--version"}, Timeout: 30 * time.Second})
			if err != nil {
				return fmt.Errorf("the %s binary does not run here: %w", t.Name, err)
			}
			out = strings.TrimSpace(out)
			if !strings.Contains(out, version) {
				return fmt.Errorf("the %s binary reports version %q, not the release version %s: the build does not stamp the version (check build.command in %s)", t.Name, out, version, e.Cfg.File)
			}
			e.Out.Line(report.OK, "%s --version printed %s on this machine", t.Name, out)
			return nil
		}
	}
	e.Out.Line(report.Info, "no built target runs on this machine (%s/%s): version check skipped", host.OS, host.CPU)
	return nil
}
