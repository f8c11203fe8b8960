// Package doctor checks that this machine can run a release: the Go,
// Node.js and npm versions (npm new enough for trusted publishing from the
// CI), npm's login for seeding, the registry, the circleci CLI on CircleCI,
// the release configuration and the build tool. Each check says what it
// found and, when it fails, how to fix it.
package doctor

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	goversion "go/version"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/agent-facets/release/internal/command"
	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/npmcli"
	"github.com/agent-facets/release/internal/oidc"
	"github.com/agent-facets/release/internal/publisher"
	"github.com/agent-facets/release/internal/registry"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/toolkit"
)

// Level is how a check ended.
type Level int

const (
	Pass Level = iota // fine
	Skip              // does not apply here, or cannot run because another check failed
	Warn              // worth fixing, but a release can run
	Fail              // a release cannot run until it is fixed
)

var marks = map[Level]report.Mark{Pass: report.OK, Skip: report.Skipped, Warn: report.Warn, Fail: report.Failed}

// Result is the outcome of one check.
type Result struct {
	Name   string // what was checked: "Go", "npm", "registry", ...
	Level  Level
	Detail string // what was found
	Fix    string // what to do about it (when not Pass)
}

// MinNode is the oldest Node.js that runs npm 11 (its engines field).
var MinNode = semver.MustParse("20.17.0")

// CommandTimeout bounds every command a check runs (go, node, npm).
const CommandTimeout = 30 * time.Second

// Options say what to check and where to print.
type Options struct {
	// Facts are the environment's (the configuration's path among them).
	Facts toolkit.Facts
	// ModDir is where go.mod is looked for (and in its parents); empty
	// means the current directory.
	ModDir string
	// Reg reads the registry; nil means a client that gives up after 20 s.
	Reg *registry.Client
	// Out receives the report.
	Out *report.Printer
}

// ErrFailed is returned (wrapped) when a required check failed.
var ErrFailed = errors.New("this machine is not ready for a release")

// Run runs every check, prints each with its mark and, when it is not
// fine, its fix, and returns ErrFailed (naming the failed checks) when any
// check failed. Warnings do not fail the run.
func Run(ctx context.Context, o Options) ([]Result, error) {
	if o.Reg == nil {
		o.Reg = &registry.Client{AttemptTimeout: 10 * time.Second, MaxElapsed: 20 * time.Second}
	}
	run := &command.Runner{Environ: o.Facts.Environ}
	npm := &npmcli.CLI{Runner: run}
	provider, onCI := o.Facts.CI, o.Facts.OnCI

	o.Out.Heading("Checking this machine for a release")
	var results []Result
	add := func(r Result) {
		results = append(results, r)
		o.Out.Line(marks[r.Level], "%s: %s", r.Name, r.Detail)
		if r.Level != Pass && r.Fix != "" {
			o.Out.Line(report.Info, "  fix: %s", r.Fix)
		}
	}

	cfg, cfgResult := checkConfig(o.Facts.ConfigFile())
	add(cfgResult)
	add(checkGo(ctx, run, o.ModDir))
	add(checkNode(ctx, run))
	publishFrom := provider
	if publishFrom == "" {
		publishFrom = publisher.CircleCI
		if cfg != nil {
			publishFrom = cfg.TrustedPublisher.Provider
		}
	}
	add(checkNPM(ctx, npm, publishFrom, provider != ""))
	if cfg != nil && cfg.Staged() {
		add(checkStage(ctx, npm, run))
	}

	regs, err := registries(ctx, npm, cfg)
	if err != nil {
		add(Result{Name: "registry", Level: Fail, Detail: err.Error(), Fix: "set the registry with `npm config set registry <url>` (or @scope:registry for the scope)"})
	}
	// The registry is reached as npm reaches it (proxies, certificate
	// authorities).
	if s, err := npm.Settings(ctx); err == nil && o.Reg.Network() == nil {
		if err := o.Reg.Configure(toolkit.Network(s, o.Facts)); err != nil {
			add(Result{Name: "registry", Level: Fail, Detail: err.Error(), Fix: "fix npm's ca or cafile setting"})
		}
	}
	for _, reg := range regs {
		reachable := checkRegistry(ctx, o.Reg, reg)
		add(reachable)
		if reachable.Level != Pass {
			add(Result{Name: "npm login", Level: Skip, Detail: "not checked: " + reg + " is not reachable"})
			continue
		}
		add(checkLogin(ctx, npm, reg, onCI))
	}
	add(checkCircleCI(run, provider))
	if cfg != nil {
		add(checkBuildTool(run, cfg))
	} else {
		add(Result{Name: "build tool", Level: Skip, Detail: "not checked: the configuration is not valid"})
	}

	var failed []string
	for _, r := range results {
		if r.Level == Fail && !slices.Contains(failed, r.Name) {
			failed = append(failed, r.Name)
		}
	}
	if len(failed) > 0 {
		return results, fmt.Errorf("%w: %d of %d checks failed (%s); fix them as shown above and run `mage doctor` again", ErrFailed, countLevel(results, Fail), len(results), strings.Join(failed, ", "))
	}
	if n := countLevel(results, Warn); n > 0 {
		o.Out.Text("\nReady for a release, with %d warning(s) above.", n)
	} else {
		o.Out.Text("\nReady for a release.")
	}
	return results, nil
}

func countLevel(rs []Result, l Level) int {
	n := 0
	for _, r := range rs {
		if r.Level == l {
			n++
		}
	}
	return n
}

// output runs a program with a deadline and returns its trimmed standard
// output, or an error with the useful line of its standard error.
func output(ctx context.Context, run *command.Runner, c command.Cmd) (string, error) {
	c.Timeout = CommandTimeout
	out, err := run.Output(ctx, c)
	return strings.TrimSpace(out), err
}

func checkConfig(path string) (*config.Config, Result) {
	r := Result{Name: "config"}
	cfg, err := config.Load(path)
	if err != nil {
		r.Level, r.Detail = Fail, err.Error()
		r.Fix = fmt.Sprintf("correct %s as the message says (its fields are described in the README, \"Configuration\"), or point RELEASE_CONFIG at the right file", path)
		return nil, r
	}
	r.Detail = fmt.Sprintf("%s is valid: %s with %d targets, trusted publishing from %s", path, cfg.CLI.Package, len(cfg.Targets), cfg.TrustedPublisher.Provider)
	return cfg, r
}

// checkGo compares the local Go (without toolchain switching) with go.mod's
// go line.
func checkGo(ctx context.Context, run *command.Runner, modDir string) Result {
	have, err := output(ctx, run, command.Cmd{Name: "go", Args: []string{"env", "GOVERSION"}, Dir: os.TempDir(), Env: []string{"GOTOOLCHAIN=local"}})
	if err != nil {
		return Result{Name: "Go", Level: Fail, Detail: "cannot run go: " + err.Error(), Fix: "install Go (https://go.dev/dl/) and put it on PATH"}
	}
	mod, want := goModVersion(modDir)
	return compareGo(have, want, mod)
}

// compareGo judges Go version have (as `go env GOVERSION` prints it) against
// want, the go line of the go.mod at mod ("" when there is none).
func compareGo(have, want, mod string) Result {
	r := Result{Name: "Go"}
	if !goversion.IsValid(have) {
		r.Level, r.Detail = Fail, fmt.Sprintf("`go env GOVERSION` printed %q, not a Go version", have)
		r.Fix = "install a released Go (https://go.dev/dl/)"
		return r
	}
	if want == "" {
		r.Detail = have + " (no go.mod found to compare with)"
		return r
	}
	if goversion.Compare(have, "go"+want) < 0 {
		r.Level = Fail
		r.Detail = fmt.Sprintf("%s is older than go %s, which %s requires", have, want, mod)
		r.Fix = fmt.Sprintf("install Go %s or newer (https://go.dev/dl/), or let Go fetch it with GOTOOLCHAIN=auto", want)
		return r
	}
	r.Detail = fmt.Sprintf("%s (%s requires go %s)", have, mod, want)
	return r
}

// goModVersion finds go.mod in dir or a parent and returns its path and
// its go line's version.
func goModVersion(dir string) (path, version string) {
	if dir == "" {
		dir = "."
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", ""
	}
	for {
		path = filepath.Join(dir, "go.mod")
		if data, err := os.ReadFile(path); err == nil {
			return path, goLine(data)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ""
		}
		dir = parent
	}
}

func goLine(data []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "go" {
			return f[1]
		}
	}
	return ""
}

func checkNode(ctx context.Context, run *command.Runner) Result {
	out, err := output(ctx, run, command.Cmd{Name: "node", Args: []string{"--version"}})
	if err != nil {
		return Result{Name: "Node.js", Level: Fail, Detail: "cannot run node: " + err.Error(), Fix: fmt.Sprintf("install Node.js %s or newer (22 LTS or later recommended) and put it on PATH", MinNode)}
	}
	return compareNode(out)
}

// compareNode judges `node --version` output against MinNode.
func compareNode(out string) Result {
	r := Result{Name: "Node.js"}
	v, err := semver.NewVersion(strings.TrimPrefix(out, "v"))
	if err != nil {
		r.Level, r.Detail = Fail, fmt.Sprintf("`node --version` printed %q, not a version", out)
		r.Fix = fmt.Sprintf("install Node.js %s or newer", MinNode)
		return r
	}
	if v.LessThan(MinNode) {
		r.Level, r.Detail = Fail, fmt.Sprintf("Node.js %s is older than %s, the oldest that runs npm 11", v, MinNode)
		r.Fix = fmt.Sprintf("install Node.js %s or newer (22 LTS or later recommended)", MinNode)
		return r
	}
	r.Detail = "Node.js " + v.String()
	return r
}

// checkNPM checks that npm can publish with trusted publishing from
// provider (this CI's, or the configured one off CI).
func checkNPM(ctx context.Context, npm *npmcli.CLI, provider publisher.Provider, onThisCI bool) Result {
	r := Result{Name: "npm"}
	v, err := npm.Version(ctx)
	if err != nil {
		r.Level, r.Detail = Fail, err.Error()
		r.Fix = "install Node.js with npm 11 and put npm on PATH"
		return r
	}
	where := "on " + provider.Name()
	if !onThisCI {
		where = "from " + provider.Name() + ", where the release publishes"
	}
	if err := oidc.CheckNPMVersion(v, provider); err != nil {
		r.Level = Fail
		r.Detail = fmt.Sprintf("npm %s is too old for trusted publishing %s", v, where)
		r.Fix = err.Error()
		return r
	}
	r.Detail = fmt.Sprintf("npm %s (new enough for trusted publishing %s)", v, where)
	return r
}

// registries returns the registry URLs the release uses: the CLI package's
// and the scope's (the same unless @scope:registry is set), or npm's default
// without a configuration.
func registries(ctx context.Context, npm *npmcli.CLI, cfg *config.Config) ([]string, error) {
	names := []string{""}
	if cfg != nil {
		names = []string{cfg.CLI.Package, cfg.Scope + "/" + cfg.CLI.PlatformPrefix}
	}
	var regs []string
	for _, n := range names {
		r, err := npm.Registry(ctx, n)
		if err != nil {
			return regs, err
		}
		if !slices.Contains(regs, r) {
			regs = append(regs, r)
		}
	}
	return regs, nil
}

func checkRegistry(ctx context.Context, reg *registry.Client, url string) Result {
	start := time.Now()
	if err := reg.Ping(ctx, url); err != nil {
		return Result{Name: "registry", Level: Fail, Detail: err.Error(),
			Fix: "check the URL (`npm config get registry`, or @scope:registry), the network and any proxy; the registry must answer before anything can be published"}
	}
	return Result{Name: "registry", Detail: fmt.Sprintf("%s answers (%s)", url, time.Since(start).Round(time.Millisecond))}
}

// checkLogin asks npm who is logged in on reg. Seeding needs a maintainer's
// login; CI publishes with trusted publishing, so there a missing login is
// only a warning.
func checkLogin(ctx context.Context, npm *npmcli.CLI, reg string, onCI bool) Result {
	r := Result{Name: "npm login"}
	user, err := npm.WhoAmI(ctx, reg)
	if err == nil {
		r.Detail = fmt.Sprintf("logged in to %s as %s (seeding and trust setup can run)", reg, user)
		return r
	}
	r.Level = Fail
	if onCI {
		r.Level = Warn
	}
	var nl *npmcli.ErrNotLoggedIn
	if errors.As(err, &nl) {
		r.Detail = fmt.Sprintf("not logged in to %s: seeding and trust setup need a maintainer's login", reg)
		if onCI {
			r.Detail += " (CI publishes with trusted publishing and needs none)"
		}
		r.Fix = fmt.Sprintf("npm login --registry %s (a personal account with publish rights on the scope)", reg)
		return r
	}
	r.Detail = fmt.Sprintf("cannot tell who is logged in to %s: %v", reg, err)
	r.Fix = fmt.Sprintf("run `npm whoami --registry %s` and fix what it reports", reg)
	return r
}

// checkCircleCI looks for the circleci CLI, which mints the OIDC token, on
// CircleCI only.
func checkCircleCI(run *command.Runner, ci publisher.Provider) Result {
	r := Result{Name: "circleci CLI"}
	if ci != publisher.CircleCI {
		r.Level, r.Detail = Skip, "not needed: not on CircleCI"
		return r
	}
	path, err := run.LookPath("circleci")
	if err != nil {
		r.Level, r.Detail = Fail, "circleci is not on PATH; publishing mints its token with `circleci run oidc get`"
		r.Fix = "use a CircleCI image that has the circleci CLI, or install it in the job before publishing"
		return r
	}
	r.Detail = "found at " + path
	return r
}

// checkBuildTool looks for build.command[0] on PATH (or, for a path, in
// build.dir).
func checkBuildTool(run *command.Runner, cfg *config.Config) Result {
	r := Result{Name: "build tool"}
	tool := cfg.Build.Command[0]
	look := tool
	if strings.ContainsAny(tool, `/\`) && !filepath.IsAbs(tool) {
		look = filepath.Join(cfg.Path(cfg.Build.Dir), tool)
	}
	path, err := run.LookPath(look)
	if err != nil {
		r.Level, r.Detail = Fail, fmt.Sprintf("%s (build.command[0] in %s) is not installed or not on PATH", tool, cfg.File)
		r.Fix = fmt.Sprintf("install %s and put it on PATH, or change build.command in %s", tool, cfg.File)
		return r
	}
	r.Detail = fmt.Sprintf("%s found at %s", tool, path)
	return r
}
