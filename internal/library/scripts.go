package library

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/agent-facets/release/internal/command"
	"github.com/agent-facets/release/internal/npmcli"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/secret"
	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/workspace"
)

// secretName matches the names of environment variables that hold, or
// lead to, credentials: NPM_ID_TOKEN, NODE_AUTH_TOKEN, CIRCLE_OIDC_TOKEN_V2,
// ACTIONS_ID_TOKEN_REQUEST_TOKEN and _URL, NPM_OTP, npm_config__auth,
// npm_config_//host/:_authToken, GITHUB_TOKEN, *_SECRET, *_PASSWORD, ...
var secretName = regexp.MustCompile(`(?i)token|secret|passw|_auth|credential|private_key|api_?key|(^|_)otp($|_)|^npm_config_//`)

// npmrcAuth matches the lines of an .npmrc that hold credentials.
var npmrcAuth = regexp.MustCompile(`(?i)^\s*[^=#;]*(_auth|_password|username|email|certfile|keyfile|token|otp)[^=]*=`)

// ScriptRunner returns the runner of the packages' own scripts (build,
// prepack, postpack): the toolkit's environment with every credential
// blanked (variables named like one, or holding a registered secret or
// anything shaped like a token), and npm's user and global configuration
// replaced by copies without their auth lines, so that a script, or a
// package manager it runs, has no token to leak. cleanup removes the
// copies.
func ScriptRunner(ctx context.Context, e *toolkit.Env) (run *command.Runner, cleanup func(), err error) {
	var env []string
	for _, kv := range e.Facts.Environ {
		k, v, _ := strings.Cut(kv, "=")
		if secretName.MatchString(k) || secret.Redact(v) != v {
			env = append(env, k+"=")
			continue
		}
		env = append(env, kv)
	}
	dir, err := os.MkdirTemp("", "release-scripts-")
	if err != nil {
		return nil, nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	st, err := e.NPM.Settings(ctx)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	for which, src := range map[string]string{"userconfig": st.UserConfig, "globalconfig": st.GlobalConfig} {
		dst := filepath.Join(dir, which)
		if err := copyNpmrc(src, dst); err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("npm's %s %s: %w", which, src, err)
		}
		env = command.Merge(env, []string{"NPM_CONFIG_" + strings.ToUpper(which) + "=" + dst, "npm_config_" + which + "=" + dst})
	}
	return &command.Runner{Environ: env, Stdin: e.Run.Stdin, Stdout: e.Run.Stdout, Stderr: e.Run.Stderr}, cleanup, nil
}

// copyNpmrc writes src's lines without credentials to dst (an empty file
// when src does not exist).
func copyNpmrc(src, dst string) error {
	var kept bytes.Buffer
	if src != "" {
		data, err := os.ReadFile(src)
		if err != nil && !os.IsNotExist(err) {
			return err
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			if !npmrcAuth.MatchString(sc.Text()) {
				kept.WriteString(sc.Text() + "\n")
			}
		}
	}
	return os.WriteFile(dst, kept.Bytes(), 0o600)
}

// BuildCommand is the command that builds p, or nil when there is nothing
// to build: adapters.build when the configuration sets it (placeholders
// {name}, {dir}, {version}, {root}), else the package's own build script
// run with the workspace's package manager (`bun run build`), else nothing.
func BuildCommand(e *toolkit.Env, ws *workspace.Workspace, p workspace.Package) (*command.Cmd, error) {
	if argv := e.Cfg.Adapters.Build; len(argv) > 0 {
		r := strings.NewReplacer("{name}", p.Name, "{dir}", p.Dir, "{version}", p.Version, "{root}", ws.Dir)
		args := make([]string, len(argv))
		for i, a := range argv {
			args[i] = r.Replace(a)
		}
		return &command.Cmd{Name: args[0], Args: args[1:], Dir: p.Dir}, nil
	}
	if p.Scripts["build"] == "" {
		return nil, nil
	}
	pm, err := ws.Manager()
	if err != nil {
		return nil, err
	}
	return &command.Cmd{Name: pm, Args: []string{"run", "build"}, Dir: p.Dir}, nil
}

// Build builds p with BuildCommand, its output shown indented as it comes.
// It says which package failed and what the build printed last.
func Build(ctx context.Context, e *toolkit.Env, ws *workspace.Workspace, p workspace.Package, run *command.Runner) error {
	c, err := BuildCommand(e, ws, p)
	if err != nil {
		return err
	}
	if c == nil {
		e.Out.Line(report.Skipped, "%s: no build script, nothing to build", p.Name)
		return nil
	}
	e.Out.Line(report.Wait, "building %s (%s): %s", p.Name, ws.Rel(p), c)
	if err := stream(ctx, e, run, *c); err != nil {
		return fmt.Errorf("the build of %s (%s) failed, so nothing was published: %w%s", p.Name, ws.Rel(p), err, buildHint(e, ws, err))
	}
	return nil
}

func buildHint(e *toolkit.Env, ws *workspace.Workspace, err error) string {
	ce, ok := command.AsError(err)
	if !ok || !ce.NotFound {
		return ""
	}
	if len(e.Cfg.Adapters.Build) > 0 {
		return fmt.Sprintf("; adapters.build in %s names a program that is not installed", e.Cfg.File)
	}
	return fmt.Sprintf("; the workspace's packageManager is %q (%s): install it, or set adapters.build in %s (e.g. [\"npm\", \"run\", \"build\"])",
		ws.PackageManager, filepath.Join(ws.Dir, "package.json"), e.Cfg.File)
}

// runScript runs p's script name in dir with the workspace's package
// manager.
func runScript(ctx context.Context, e *toolkit.Env, ws *workspace.Workspace, p workspace.Package, run *command.Runner, dir, name string) error {
	pm, err := ws.Manager()
	if err != nil {
		return err
	}
	c := command.Cmd{Name: pm, Args: []string{"run", name}, Dir: dir}
	e.Out.Line(report.Wait, "%s: running its %s script in a staging copy: %s", p.Name, name, c)
	if err := stream(ctx, e, run, c); err != nil {
		return fmt.Errorf("the %s script of %s failed, so nothing was published: %w", name, p.Name, err)
	}
	return nil
}

// stream runs c, showing its output under the current line as it comes;
// a failure ends with the last lines it printed.
func stream(ctx context.Context, e *toolkit.Env, run *command.Runner, c command.Cmd) error {
	w := &indented{out: e.Out}
	c.Output = w
	_, err := run.Output(ctx, c)
	w.flush()
	if err != nil && len(w.tail) > 0 {
		return fmt.Errorf("%w; it printed last:\n    %s", err, strings.Join(w.tail, "\n    "))
	}
	return err
}

// tailLines is how many of a script's last lines an error quotes.
const tailLines = 15

// indented writes whole lines to a printer, indented and redacted, and
// keeps the last few.
type indented struct {
	mu   sync.Mutex
	out  *report.Printer
	buf  []byte
	tail []string
}

func (w *indented) line(s string) {
	s = secret.Redact(strings.TrimRight(s, "\r"))
	if strings.TrimSpace(s) == "" {
		return
	}
	w.out.Text("    %s", s)
	if w.tail = append(w.tail, s); len(w.tail) > tailLines {
		w.tail = w.tail[1:]
	}
}

func (w *indented) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.line(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

func (w *indented) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.line(string(w.buf))
		w.buf = nil
	}
}

// npmCall is an npm invocation in dir.
func npmCall(dir string, args ...string) npmcli.Call {
	return npmcli.Call{Dir: dir, Args: args}
}
