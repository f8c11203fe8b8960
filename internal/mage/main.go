// Command mage is `go tool mage` for this module: Mage itself, made safe to
// run several times at once in one checkout.
//
// Mage compiles the magefile on every run (with a Go build cache it always
// rebuilds) and, to do so, writes magefiles/mage_output_file.go, compiles,
// and deletes it. Four runs started together write, read and delete that
// one file under each other ("mage_output_file.go: expected 'package',
// found 'EOF'"). Here the compile step takes a file lock, one per magefiles
// directory, and compiles a binary of its own for this run, which then runs
// without the lock: runs compile one at a time and execute together.
// Everything else (flags, -l, -h, -compile, the cache) is Mage's.
//
// The compiled targets get the environment unchanged, as with Mage; they
// run in the terminal's process group (Ctrl-C reaches them) and, on Linux,
// die with this process, which dies with the `go` that started it.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/gofrs/flock"
	"github.com/magefile/mage/mage"

	"github.com/agent-facets/release/internal/command"
)

func main() {
	command.DieWithParent()
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	errlog := log.New(stderr, "", 0)
	inv, cmd, err := mage.Parse(io.Discard, io.Discard, args)
	switch {
	case errors.Is(err, flag.ErrHelp), err != nil,
		cmd != mage.None && cmd != mage.CompileStatic,
		inv.List, inv.Help, inv.Autocomplete:
		// Nothing to compile: Mage as it is (it also prints usage and errors).
		return mage.ParseAndRun(stdout, stderr, stdin, args)
	}
	inv.Stdout, inv.Stderr, inv.Stdin = stdout, stderr, stdin
	if cmd == mage.CompileStatic && !filepath.IsAbs(inv.CompileOut) {
		// Mage runs `go build -o` in the magefiles directory, so a relative
		// -compile path would land under magefiles/; it means the caller's
		// working directory (the pipelines' .release/bin/release).
		abs, err := filepath.Abs(inv.CompileOut)
		if err != nil {
			errlog.Println("Error:", err)
			return 1
		}
		inv.CompileOut = abs
	}

	unlock, err := lockCompile(inv)
	if err != nil {
		errlog.Println("Error:", err)
		return 1
	}
	if cmd == mage.CompileStatic {
		defer unlock()
		return mage.Invoke(inv)
	}
	// This run's own binary, named mage as Mage names it (its usage says so).
	dir, err := os.MkdirTemp(inv.CacheDir, "run-")
	if err != nil {
		unlock()
		errlog.Println("Error:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	exe := filepath.Join(dir, "mage")
	if runtime.GOOS == "windows" {
		exe += ".exe"
	}
	targetArgs := inv.Args
	inv.CompileOut, inv.Args = exe, nil
	code := mage.Invoke(inv)
	unlock()
	if code != 0 {
		return code
	}
	return runCompiled(inv, exe, targetArgs, stdin, stdout, stderr)
}

// lockCompile takes the lock of inv's magefiles directory (in Mage's cache
// directory, so that the checkout stays clean), after removing what runs
// killed before they could clean up left in the cache.
func lockCompile(inv mage.Invocation) (unlock func(), err error) {
	dir := inv.Dir
	if dir == "" {
		dir = "."
	}
	if fi, err := os.Stat(filepath.Join(dir, mage.MagefilesDirName)); err == nil && fi.IsDir() {
		dir = filepath.Join(dir, mage.MagefilesDirName)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	// Mage's cache receives this run's binary.
	if err := os.MkdirAll(inv.CacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("mage cache %s: %w", inv.CacheDir, err)
	}
	path := lockPath(inv.CacheDir, abs)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lock directory %s: %w", filepath.Dir(path), err)
	}
	lock := flock.New(path)
	if err := lock.Lock(); err != nil {
		return nil, fmt.Errorf("lock the magefile's compilation (%s): %w", path, err)
	}
	removeOldRuns(inv.CacheDir)
	return func() { _ = lock.Unlock() }, nil
}

// lockPath is the lock of the magefiles directory dir: the same whatever
// Mage cache a run uses (MAGEFILE_CACHE may differ between runs of one
// checkout), in the user's cache directory, else in Mage's.
func lockPath(mageCache, dir string) string {
	locks := filepath.Join(mageCache, "locks")
	if user, err := os.UserCacheDir(); err == nil {
		locks = filepath.Join(user, "agent-facets-release", "mage-locks")
	}
	sum := sha256.Sum256([]byte(dir))
	return filepath.Join(locks, hex.EncodeToString(sum[:8])+".lock")
}

// removeOldRuns removes run binaries older than a day: a run removes its
// own when it ends, so these are what killed runs left (a binary, no
// secret).
func removeOldRuns(cache string) {
	old, _ := filepath.Glob(filepath.Join(cache, "run-*"))
	for _, d := range old {
		if fi, err := os.Stat(d); err == nil && time.Since(fi.ModTime()) > 24*time.Hour {
			_ = os.RemoveAll(d)
		}
	}
}

// runCompiled runs the compiled magefile with the target arguments, as
// Mage's own RunCompiled does (the same MAGEFILE_* variables), through the
// toolkit's command runner.
func runCompiled(inv mage.Invocation, exe string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := os.Environ()
	for _, v := range []struct {
		on  bool
		set string
	}{
		{inv.Verbose, "MAGEFILE_VERBOSE=1"},
		{inv.Debug, "MAGEFILE_DEBUG=1"},
		{inv.GoCmd != "", "MAGEFILE_GOCMD=" + inv.GoCmd},
		{inv.Timeout > 0, "MAGEFILE_TIMEOUT=" + inv.Timeout.String()},
	} {
		if v.on {
			env = append(env, v.set)
		}
	}
	dir := inv.Dir
	if inv.WorkDir != "" && inv.WorkDir != inv.Dir {
		dir = inv.WorkDir
	}
	// Ctrl-C goes to the targets, which handle it; this process waits.
	signal.Ignore(os.Interrupt)
	r := &command.Runner{Environ: env, Stdin: stdin, Stdout: stdout, Stderr: stderr}
	err := r.Interactive(context.Background(), command.Cmd{Name: exe, Args: args, Dir: dir})
	if err == nil {
		return 0
	}
	ce, ok := command.AsError(err)
	switch {
	case ok && ce.Exit > 0:
		return ce.Exit
	case ok && ce.Signal != "":
		fmt.Fprintf(stderr, "the targets were ended by a signal (%s)\n", ce.Signal)
		return 1
	}
	fmt.Fprintln(stderr, "failed to run compiled magefile:", strings.TrimSpace(err.Error()))
	return 1
}
