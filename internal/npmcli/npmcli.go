// Package npmcli runs the npm CLI for the operations that must go through it
// (configuration, login state, publishing, trusted publishers). A failed call
// returns an *Error carrying npm's own error lines, redacted of secrets.
package npmcli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"
	"github.com/bitfield/script"

	"github.com/agent-facets/release/internal/secret"
)

// CLI runs npm. The zero value runs "npm" from PATH in the current directory
// (whose .npmrc counts) with the process environment.
type CLI struct {
	// Bin is the npm executable; empty means "npm".
	Bin string
	// Env is added to the process environment of every call.
	Env []string

	once   sync.Once
	config map[string]any
	cfgErr error
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

var codeRE = regexp.MustCompile(`^npm (?:error|ERR!) code (\S+)`)

func newError(args []string, exit int, stderr string) *Error {
	e := &Error{Args: redactArgs(args), Exit: exit}
	for _, line := range strings.Split(secret.Redact(stderr), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "npm error") && !strings.HasPrefix(line, "npm ERR!") {
			continue
		}
		if strings.Contains(line, "A complete log of this run") || strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(line, "npm error"), "npm ERR!")) == "" {
			continue
		}
		if m := codeRE.FindStringSubmatch(line); m != nil {
			e.Code = m[1]
		}
		e.Lines = append(e.Lines, line)
	}
	if len(e.Lines) == 0 {
		// Not npm's usual format (a crash, a stand-in): keep the last lines.
		var tail []string
		for _, line := range strings.Split(strings.TrimSpace(secret.Redact(stderr)), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				tail = append(tail, line)
			}
		}
		if len(tail) > 5 {
			tail = tail[len(tail)-5:]
		}
		e.Lines = tail
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

func (c *CLI) env(extra []string) []string {
	env := append(os.Environ(), c.Env...)
	return append(env, extra...)
}

// Run runs npm with args and returns its standard output. env is added to
// the environment of this call only.
func (c *CLI) Run(ctx context.Context, env []string, args ...string) (string, error) {
	var stderr bytes.Buffer
	p := script.NewPipe().WithContext(ctx).WithEnv(c.env(env)).WithStderr(&stderr)
	p = p.ExecCommand(c.bin(), args...)
	out, _ := p.Bytes()
	if err := p.Error(); err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("npm %s: %w", strings.Join(redactArgs(args), " "), ctx.Err())
		}
		exit := p.ExitStatus()
		if exit == 0 {
			// The command could not start at all.
			return "", fmt.Errorf("cannot run npm (%s): %v; install Node.js and npm, or put npm on PATH", c.bin(), err)
		}
		return string(out), newError(args, exit, stderr.String())
	}
	return string(out), nil
}

// RunInteractive runs npm with the terminal's standard input and output, so
// that npm can prompt (for a 2FA code, say). Standard error goes to the
// terminal too, and is kept for the error.
func (c *CLI) RunInteractive(ctx context.Context, env []string, args ...string) error {
	cmd := exec.CommandContext(ctx, c.bin(), args...)
	cmd.Env = c.env(env)
	cmd.Stdin, cmd.Stdout = os.Stdin, os.Stdout
	var stderr bytes.Buffer
	cmd.Stderr = io.MultiWriter(redactingWriter{os.Stderr}, &stderr)
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return newError(args, ee.ExitCode(), stderr.String())
		}
		return fmt.Errorf("cannot run npm (%s): %v; install Node.js and npm, or put npm on PATH", c.bin(), err)
	}
	return nil
}

type redactingWriter struct{ w io.Writer }

func (r redactingWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(r.w, secret.Redact(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
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

// Config returns npm's effective configuration (`npm config list --json`:
// environment, project, user and global .npmrc, defaults). npm leaves
// credentials out of it.
func (c *CLI) Config(ctx context.Context) (map[string]any, error) {
	c.once.Do(func() {
		out, err := c.Run(ctx, nil, "config", "list", "--json")
		if err != nil {
			c.cfgErr = fmt.Errorf("read npm configuration: %w", err)
			return
		}
		if err := json.Unmarshal([]byte(out), &c.config); err != nil {
			c.cfgErr = fmt.Errorf("read npm configuration: `npm config list --json` printed no JSON: %v", err)
		}
	})
	return c.config, c.cfgErr
}

// Registry returns the registry URL npm uses for the package name: the
// scope's own registry (`@scope:registry`) when set, else `registry`. The URL
// always ends with a slash.
func (c *CLI) Registry(ctx context.Context, name string) (string, error) {
	cfg, err := c.Config(ctx)
	if err != nil {
		return "", err
	}
	reg, _ := cfg["registry"].(string)
	if strings.HasPrefix(name, "@") {
		if i := strings.Index(name, "/"); i > 0 {
			if r, ok := cfg[name[:i]+":registry"].(string); ok && r != "" {
				reg = r
			}
		}
	}
	if reg == "" {
		return "", errors.New("npm has no registry configured: set one with `npm config set registry <url>` or NPM_CONFIG_REGISTRY")
	}
	if !strings.HasSuffix(reg, "/") {
		reg += "/"
	}
	return reg, nil
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
	args := []string{"publish", o.Path, "--registry", o.Registry}
	if o.Tag != "" {
		args = append(args, "--tag", o.Tag)
	}
	if o.Access != "" {
		args = append(args, "--access", o.Access)
	}
	if o.OTP != "" {
		args = append(args, "--otp="+o.OTP)
	}
	if o.Interactive {
		return c.RunInteractive(ctx, o.Env, args...)
	}
	_, err := c.Run(ctx, o.Env, args...)
	return err
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

// TrustList returns the trusted-publisher configurations of pkg. npm prints
// one JSON object per configuration, back to back, and nothing when there is
// none.
func (c *CLI) TrustList(ctx context.Context, pkg, registry, otp string) ([]Trust, error) {
	args := []string{"trust", "list", pkg, "--json", "--registry", registry}
	if otp != "" {
		args = append(args, "--otp="+otp)
	}
	out, err := c.Run(ctx, nil, args...)
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

// CircleCITrust is the CircleCI identity to trust.
type CircleCITrust struct {
	OrgID, ProjectID, PipelineDefinitionID, VCSOrigin string
	ContextIDs                                        []string
}

// Args returns the `npm trust circleci` arguments that create t for pkg.
func (t CircleCITrust) Args(pkg string) []string {
	args := []string{"trust", "circleci", pkg,
		"--org-id", t.OrgID,
		"--project-id", t.ProjectID,
		"--pipeline-definition-id", t.PipelineDefinitionID,
		"--vcs-origin", t.VCSOrigin}
	for _, id := range t.ContextIDs {
		args = append(args, "--context-id", id)
	}
	return append(args, "--allow-publish", "--yes")
}

// TrustCircleCI attaches t to pkg with publish permission.
func (c *CLI) TrustCircleCI(ctx context.Context, pkg, registry, otp string, t CircleCITrust) error {
	args := append(t.Args(pkg), "--registry", registry)
	if otp != "" {
		args = append(args, "--otp="+otp)
	}
	_, err := c.Run(ctx, nil, args...)
	return err
}

// TrustRevoke removes the configuration id from pkg.
func (c *CLI) TrustRevoke(ctx context.Context, pkg, registry, otp, id string) error {
	args := []string{"trust", "revoke", pkg, "--id", id, "--registry", registry}
	if otp != "" {
		args = append(args, "--otp="+otp)
	}
	_, err := c.Run(ctx, nil, args...)
	return err
}
