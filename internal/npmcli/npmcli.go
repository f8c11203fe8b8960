// Package npmcli runs the npm CLI for the operations that must go through it
// (configuration, login state, publishing, trusted publishers). A failed call
// returns an *Error carrying npm's own error lines, redacted of secrets.
package npmcli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"
	"github.com/bitfield/script"

	"github.com/agent-facets/release/internal/command"
	"github.com/agent-facets/release/internal/publisher"
	"github.com/agent-facets/release/internal/secret"
)

// CLI runs npm through a command runner (whose environment counts, and
// whose PATH finds npm: npm.cmd on Windows), in the current directory
// (whose .npmrc counts).
type CLI struct {
	Runner *command.Runner
	// Bin is the npm executable; empty means "npm".
	Bin string

	rootOnce sync.Once
	root     string
	rootErr  error

	settingsOnce sync.Once
	settings     *Settings
	settingsErr  error
}

// Error is a failed npm call.
type Error struct {
	Args []string
	Exit int
	// Code is npm's error code (E404, ENEEDAUTH, EOTP, ...) when it printed one.
	Code string
	// Lines are npm's error lines, redacted.
	Lines []string
}

func (e *Error) Error() string {
	cmd := "npm " + strings.Join(e.Args, " ")
	if len(e.Lines) == 0 {
		return fmt.Sprintf("%s failed (exit %d) and printed no error", cmd, e.Exit)
	}
	return fmt.Sprintf("%s failed (exit %d): %s", cmd, e.Exit, strings.Join(e.Lines, "; "))
}

var (
	codeRE      = regexp.MustCompile(`^npm (?:error|ERR!) code (\S+)`)
	errorLineRE = regexp.MustCompile(`^npm (?:error|ERR!)\s*\S`)
	blankRE     = regexp.MustCompile(`^\s*$`)
)

// newError keeps npm's own error lines of stderr (not the pointer to its
// log file), or, when npm printed none (a crash, a stand-in), its last
// lines.
func newError(args []string, exit int, stderr string) *Error {
	e := &Error{Args: redactArgs(args), Exit: exit}
	stderr = secret.Redact(stderr)
	e.Lines, _ = script.Echo(stderr).FilterLine(strings.TrimSpace).MatchRegexp(errorLineRE).Reject("A complete log of this run").Slice()
	if len(e.Lines) == 0 {
		e.Lines, _ = script.Echo(stderr).FilterLine(strings.TrimSpace).RejectRegexp(blankRE).Last(5).Slice()
	}
	for _, line := range e.Lines {
		if m := codeRE.FindStringSubmatch(line); m != nil {
			e.Code = m[1]
		}
	}
	return e
}

func redactArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = secret.Redact(a)
		if strings.HasPrefix(a, "--otp=") {
			out[i] = "--otp=" + secret.Mask
		}
	}
	return out
}

// IsCode reports whether err is an npm *Error with the given code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

func (c *CLI) bin() string {
	if c.Bin != "" {
		return c.Bin
	}
	return "npm"
}

func (c *CLI) runner() *command.Runner {
	if c.Runner == nil {
		return &command.Runner{}
	}
	return c.Runner
}

// Call is one npm invocation.
type Call struct {
	Args []string
	// Env is added to this call's environment only (NPM_ID_TOKEN, say).
	Env []string
	// Dir is where npm runs; empty means the current directory.
	Dir string
	// Interactive runs npm on the terminal, so that it may prompt.
	Interactive bool
}

// Do runs npm and returns its standard output. A failure is an *Error
// (npm ran and failed) or a plain error saying why npm could not run.
func (c *CLI) Do(ctx context.Context, call Call) (string, error) {
	cmd := command.Cmd{Name: c.bin(), Args: call.Args, Env: call.Env, Dir: call.Dir}
	var (
		out string
		err error
	)
	if call.Interactive {
		err = c.runner().Interactive(ctx, cmd)
	} else {
		out, err = c.runner().Output(ctx, cmd)
	}
	return out, c.wrap(ctx, call.Args, err)
}

// Run runs npm with args and returns its standard output. env is added to
// the environment of this call only.
func (c *CLI) Run(ctx context.Context, env []string, args ...string) (string, error) {
	return c.Do(ctx, Call{Args: args, Env: env})
}

// wrap turns a command error into what callers need: npm's own error lines
// when npm ran and failed, and plain words when it could not run or was
// ended by a signal.
func (c *CLI) wrap(ctx context.Context, args []string, err error) error {
	if err == nil {
		return nil
	}
	ce, ok := command.AsError(err)
	cmd := "npm " + strings.Join(redactArgs(args), " ")
	switch {
	case !ok:
		return err
	case ce.Canceled != nil || ctx.Err() != nil:
		return fmt.Errorf("%s: %w", cmd, cmp.Or(ce.Canceled, ctx.Err()))
	case ce.NotFound:
		return fmt.Errorf("cannot run npm (%s): %v; install Node.js and npm, or put npm on PATH", c.bin(), ce.Start)
	case ce.Start != nil:
		return fmt.Errorf("cannot start npm (%s): %v", c.bin(), ce.Start)
	case ce.Signal != "":
		return fmt.Errorf("%s was ended by a signal (%s) before it finished; nothing it printed says whether its work landed: run the same command again", cmd, ce.Signal)
	}
	return newError(args, ce.Exit, ce.Stderr)
}

// Version returns npm's version.
func (c *CLI) Version(ctx context.Context) (*semver.Version, error) {
	out, err := c.Run(ctx, nil, "--version")
	if err != nil {
		return nil, err
	}
	v, err := semver.NewVersion(strings.TrimSpace(out))
	if err != nil {
		return nil, fmt.Errorf("npm --version printed %q, not a version", strings.TrimSpace(out))
	}
	return v, nil
}

// Registry returns the registry URL npm uses for the package name, read as
// npm reads it (see Settings): the scope's own registry (`@scope:registry`,
// credentials in its URL included) when set, else `registry`. The URL always
// ends with a slash.
func (c *CLI) Registry(ctx context.Context, name string) (string, error) {
	s, err := c.Settings(ctx)
	if err != nil {
		return "", err
	}
	return s.RegistryFor(name)
}

// ErrNotLoggedIn means npm has no credentials for the registry.
type ErrNotLoggedIn struct {
	Registry string
	Cause    error
}

func (e *ErrNotLoggedIn) Error() string {
	return fmt.Sprintf("not logged in to %s: run `npm login --registry %s` (a personal account with publish rights on the scope), then run this again", e.Registry, e.Registry)
}

func (e *ErrNotLoggedIn) Unwrap() error { return e.Cause }

// WhoAmI returns the user npm is logged in as on registry.
func (c *CLI) WhoAmI(ctx context.Context, registry string) (string, error) {
	out, err := c.Run(ctx, nil, "whoami", "--registry", registry)
	if err != nil {
		if IsCode(err, "ENEEDAUTH") || IsCode(err, "E401") {
			return "", &ErrNotLoggedIn{Registry: registry, Cause: err}
		}
		return "", err
	}
	return strings.TrimSpace(out), nil
}

// PublishOptions says what and how to publish.
type PublishOptions struct {
	// Path is a package directory or a .tgz tarball.
	Path     string
	Registry string
	Tag      string
	// Access is "public" or "restricted"; empty leaves npm's default.
	Access string
	// OTP is a one-time password for accounts with 2FA on writes, passed as
	// --otp=<code> (npm trust reads "--otp <code>" as a stray argument).
	OTP string
	// Interactive inherits the terminal so npm can prompt for a 2FA code.
	Interactive bool
	// Env is added to this call's environment (e.g. NPM_ID_TOKEN).
	Env []string
}

// Publish runs `npm publish`.
func (c *CLI) Publish(ctx context.Context, o PublishOptions) error {
	_, err := c.Do(ctx, Call{Args: withOTP(publishArgs(o), o.OTP), Env: o.Env, Interactive: o.Interactive})
	return err
}

// publishArgs is the command line of `npm publish` for o, without the OTP.
func publishArgs(o PublishOptions) []string {
	args := []string{"publish", o.Path, "--registry", o.Registry}
	if o.Tag != "" {
		args = append(args, "--tag", o.Tag)
	}
	if o.Access != "" {
		args = append(args, "--access", o.Access)
	}
	return args
}

// Trust is one trusted-publisher configuration as `npm trust list --json`
// prints it.
type Trust struct {
	ID                   string   `json:"id"`
	Type                 string   `json:"type"`
	OrgID                string   `json:"orgId,omitempty"`
	ProjectID            string   `json:"projectId,omitempty"`
	PipelineDefinitionID string   `json:"pipelineDefinitionId,omitempty"`
	VCSOrigin            string   `json:"vcsOrigin,omitempty"`
	ContextIDs           []string `json:"contextIds,omitempty"`
	Permissions          []string `json:"permissions,omitempty"`
	// Other providers' fields, kept for display.
	Repository  string `json:"repository,omitempty"`
	File        string `json:"file,omitempty"`
	Project     string `json:"project,omitempty"`
	Environment string `json:"environment,omitempty"`
}

// Identity is the trusted publisher t describes.
func (t Trust) Identity() publisher.Identity {
	return publisher.Identity{
		Provider: publisher.Provider(t.Type),
		OrgID:    t.OrgID, ProjectID: t.ProjectID, PipelineDefinitionID: t.PipelineDefinitionID,
		VCSOrigin: t.VCSOrigin, ContextIDs: t.ContextIDs,
		Repository: t.Repository, Workflow: t.File, Environment: t.Environment,
	}
}

// TrustList returns the trusted-publisher configurations of pkg. npm prints
// one JSON object per configuration, back to back, and nothing when there is
// none.
func (c *CLI) TrustList(ctx context.Context, pkg, registry, otp string) ([]Trust, error) {
	out, err := c.Run(ctx, nil, withOTP([]string{"trust", "list", pkg, "--json", "--registry", registry}, otp)...)
	if err != nil {
		return nil, err
	}
	var list []Trust
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var t Trust
		if err := dec.Decode(&t); err != nil {
			return nil, fmt.Errorf("npm trust list %s printed something that is not JSON: %v", pkg, err)
		}
		list = append(list, t)
	}
	return list, nil
}

// TrustCommand is the `npm trust` command line that attaches id to pkg on
// registry with the permissions perms (publisher.PermPublish when none),
// for a person to run.
func TrustCommand(id publisher.Identity, pkg, registry string, perms ...string) string {
	return "npm " + strings.Join(id.Args(pkg, permFlags(perms)...), " ") + " --registry " + registry
}

// Trust attaches id to pkg with the permissions perms (publisher.PermPublish
// when none).
func (c *CLI) Trust(ctx context.Context, pkg, registry, otp string, id publisher.Identity, perms ...string) error {
	_, err := c.Run(ctx, nil, withOTP(append(id.Args(pkg, permFlags(perms)...), "--registry", registry), otp)...)
	return err
}

func permFlags(perms []string) []string {
	flags := make([]string, len(perms))
	for i, p := range perms {
		flags[i] = publisher.Flag(p)
	}
	return flags
}

// TrustRevoke removes the configuration id from pkg.
func (c *CLI) TrustRevoke(ctx context.Context, pkg, registry, otp, id string) error {
	_, err := c.Run(ctx, nil, withOTP([]string{"trust", "revoke", pkg, "--id", id, "--registry", registry}, otp)...)
	return err
}

// withOTP adds a one-time password as --otp=<code> (npm trust reads the
// spaced form "--otp <code>" as a stray positional argument).
func withOTP(args []string, otp string) []string {
	if otp == "" {
		return args
	}
	return append(args, "--otp="+otp)
}
