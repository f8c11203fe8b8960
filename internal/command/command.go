// Package command runs the external programs a release needs (npm, circleci,
// git, package managers, the build command) as bitfield/script pipelines, so
// that a caller filters or parses their output with the pipeline's own stages
// (Match, Reject, JQ, Last, ...). Every program gets the Runner's
// environment, never the process environment read behind its back, and a
// failed program comes back as an *Error holding its redacted standard error.
package command

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"

	"github.com/bitfield/script"

	"github.com/agent-facets/release/internal/secret"
)

// Runner runs programs. The zero value runs them with an empty environment;
// build one with the environment read when a target starts.
type Runner struct {
	// Environ is every program's environment (KEY=VALUE). PATH in it is
	// where programs are looked up.
	Environ []string
	// Stdin, Stdout and Stderr are the terminal that Interactive commands
	// use; nil means the process's own.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Cmd is one program to run.
type Cmd struct {
	// Name is the program: a path, or a name looked up on the Runner's PATH
	// the way the operating system runs it (npm.cmd on Windows).
	Name string
	Args []string
	// Dir is the working directory; empty means the current one.
	Dir string
	// Env is added to the Runner's environment for this call only; a
	// variable set here replaces the Runner's value.
	Env []string
	// Stdin feeds the program; nil means no input.
	Stdin io.Reader
	// Output, when set, also receives the program's standard output and
	// standard error as they are written (a build's progress).
	Output io.Writer
	// Timeout bounds the program; zero means the context's deadline only.
	Timeout time.Duration
	// Usage, when set, receives what the program cost (benchmarks).
	Usage *Usage
}

// Usage is what a program cost to run.
type Usage struct {
	Wall time.Duration
	// CPU is the user and system time of the program and the children it
	// waited for.
	CPU time.Duration
	// MaxRSS is the peak resident set size in bytes (the largest of the
	// program and its waited-for children), 0 where the OS does not say.
	MaxRSS int64
}

// String is the command line, redacted, for messages.
func (c Cmd) String() string {
	parts := make([]string, 0, len(c.Args)+1)
	parts = append(parts, c.Name)
	for _, a := range c.Args {
		switch {
		case strings.HasPrefix(a, "--otp="):
			a = "--otp=" + secret.Mask
		case a == "" || strings.ContainsAny(a, " \t\"'"):
			a = fmt.Sprintf("%q", a)
		}
		parts = append(parts, a)
	}
	return secret.Redact(strings.Join(parts, " "))
}

// Error is a program that did not succeed.
type Error struct {
	// Cmd is the redacted command line.
	Cmd string
	// NotFound is set when the program is not installed; Start holds any
	// other reason it could not start.
	NotFound bool
	Start    error
	// Exit is the exit code of a program that ran and failed; Signal names
	// the signal that ended it instead ("killed", "terminated"), if any.
	Exit   int
	Signal string
	// Canceled is the context error when the run was cancelled or timed out.
	Canceled error
	// Stderr is the program's standard error, redacted.
	Stderr string
}

func (e *Error) Error() string {
	switch {
	case e.NotFound:
		return fmt.Sprintf("cannot run `%s`: %v", e.Cmd, e.Start)
	case e.Start != nil:
		return fmt.Sprintf("cannot start `%s`: %v", e.Cmd, e.Start)
	case e.Canceled != nil:
		return fmt.Sprintf("`%s` did not finish: %v", e.Cmd, e.Canceled)
	case e.Signal != "":
		return fmt.Sprintf("`%s` was ended by a signal (%s)%s", e.Cmd, e.Signal, suffix(e.Useful()))
	}
	return fmt.Sprintf("`%s` failed (exit %d)%s", e.Cmd, e.Exit, suffix(e.Useful()))
}

func (e *Error) Unwrap() error {
	if e.Canceled != nil {
		return e.Canceled
	}
	return e.Start
}

func suffix(s string) string {
	if s == "" {
		return ": it printed no error message"
	}
	return ": " + s
}

var blank = regexp.MustCompile(`^\s*$`)

// Useful returns the line of standard error that says what went wrong: the
// last line that is not empty.
func (e *Error) Useful() string {
	line, _ := script.Echo(e.Stderr).RejectRegexp(blank).Last(1).String()
	return strings.TrimSpace(line)
}

// AsError returns err as an *Error when it is one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Pipe returns a pipeline whose source is c's standard output. Its error,
// once read, is an *Error when the program failed. Chain stages to filter
// the output, then read it with a sink (String, Slice, Bytes, ...).
func (r *Runner) Pipe(ctx context.Context, c Cmd) *script.Pipe {
	p := script.NewPipe().WithContext(ctx)
	return p.Filter(func(_ io.Reader, w io.Writer) error {
		return r.run(ctx, c, w)
	})
}

// Output runs c and returns its standard output.
func (r *Runner) Output(ctx context.Context, c Cmd) (string, error) {
	return r.Pipe(ctx, c).String()
}

// Interactive runs c on the Runner's terminal, so that the program can
// prompt (npm asking for a one-time password). Standard error is shown,
// redacted, and kept for the error.
func (r *Runner) Interactive(ctx context.Context, c Cmd) error {
	if c.Stdin == nil {
		c.Stdin = orReader(r.Stdin, os.Stdin)
	}
	return r.exec(ctx, c, orWriter(r.Stdout, os.Stdout), orWriter(r.Stderr, os.Stderr), true)
}

func (r *Runner) run(ctx context.Context, c Cmd, stdout io.Writer) error {
	var stderr io.Writer = io.Discard
	if c.Output != nil {
		stdout = io.MultiWriter(stdout, c.Output)
		stderr = c.Output
	}
	return r.exec(ctx, c, stdout, stderr, false)
}

func (r *Runner) exec(ctx context.Context, c Cmd, stdout, stderrView io.Writer, interactive bool) error {
	e := &Error{Cmd: c.String()}
	path, err := r.LookPath(c.Name)
	if err != nil {
		e.NotFound, e.Start = true, err
		return e
	}
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, path, c.Args...)
	cmd.Dir = c.Dir
	cmd.Env = Merge(r.Environ, c.Env)
	cmd.Stdin = c.Stdin
	cmd.Stdout = stdout
	var stderr bytes.Buffer
	cmd.Stderr = io.MultiWriter(&stderr, redacting{stderrView})
	// Programs get their own process group (so that cancelling ends
	// whatever they started too) and die with the toolkit where the OS can
	// arrange it; an interactive one stays in the terminal's group so that
	// it may read the terminal.
	g := prepare(cmd, !interactive)
	cmd.Cancel = g.kill
	// A program that leaves a child holding its output must not hang us
	// after it was cancelled.
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	if err = cmd.Start(); err == nil {
		g.started()
		err = cmd.Wait()
		g.release()
	}
	if c.Usage != nil && cmd.ProcessState != nil {
		ps := cmd.ProcessState
		*c.Usage = Usage{Wall: time.Since(start), CPU: ps.UserTime() + ps.SystemTime(), MaxRSS: maxRSS(ps)}
	}
	if err == nil {
		return nil
	}
	e.Stderr = secret.Redact(stderr.String())
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		e.Canceled = ctx.Err()
	case errors.As(err, &ee):
		e.Exit = ee.ExitCode()
		e.Signal = signalOf(ee.ProcessState)
	default:
		e.Start = err
	}
	return e
}

// Merge returns base with extra applied: a variable in extra replaces the
// one in base (compared as the OS compares names), others are appended.
func Merge(base, extra []string) []string {
	out := make([]string, 0, len(base)+len(extra))
	index := map[string]int{}
	for _, kv := range append(append([]string(nil), base...), extra...) {
		k, _, _ := strings.Cut(kv, "=")
		k = envKey(k)
		if i, ok := index[k]; ok {
			out[i] = kv
			continue
		}
		index[k] = len(out)
		out = append(out, kv)
	}
	return out
}

// Getenv returns the value of key in environ ("" when unset).
func Getenv(environ []string, key string) string {
	v, _ := Lookup(environ, key)
	return v
}

// Lookup returns the value of key in environ and whether it is set. The
// last assignment wins, as it does for a child process.
func Lookup(environ []string, key string) (string, bool) {
	key = envKey(key)
	val, found := "", false
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && envKey(k) == key {
			val, found = v, true
		}
	}
	return val, found
}

type redacting struct{ w io.Writer }

func (r redacting) Write(p []byte) (int, error) {
	if r.w == io.Discard {
		return len(p), nil
	}
	if _, err := io.WriteString(r.w, secret.Redact(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

func orReader(r, def io.Reader) io.Reader {
	if r != nil {
		return r
	}
	return def
}

func orWriter(w, def io.Writer) io.Writer {
	if w != nil {
		return w
	}
	return def
}
