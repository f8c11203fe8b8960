package main

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/command"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
)

// TestCompileIsRelativeToTheCaller compiles the toolkit as the pipelines'
// build job does, with a relative -compile path: stock Mage runs its
// `go build -o` in the magefiles directory, so the binary would land under
// magefiles/ and the job's next step (`.release/bin/release -l`) would find
// nothing.
func TestCompileIsRelativeToTheCaller(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the toolkit")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	root := toolkittest.RepoRoot()
	dir := t.TempDir()
	run := &command.Runner{Environ: append(os.Environ(), "MAGEFILE_CACHE="+filepath.Join(dir, "cache"))}
	wrapper := filepath.Join(dir, "mage")
	if _, err := run.Output(ctx, command.Cmd{Name: "go", Args: []string{"build", "-o", wrapper, "./internal/mage"}, Dir: root}); err != nil {
		t.Fatal(err)
	}
	// A path relative to the checkout, as the pipelines give it, that
	// leads out of it into this test's directory.
	exe := filepath.Join(dir, ".release", "bin", "release")
	if runtime.GOOS == "windows" {
		exe += ".exe"
	}
	rel, err := filepath.Rel(root, exe)
	if err != nil {
		t.Skip(err)
	}
	if _, err := run.Output(ctx, command.Cmd{Name: wrapper, Args: []string{"-compile", rel}, Dir: root}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(exe); err != nil {
		t.Fatalf("-compile %s did not write %s: %v", rel, exe, err)
	}
	if wrong := filepath.Join(root, "magefiles", rel); wrong != exe {
		if _, err := os.Stat(wrong); err == nil {
			t.Errorf("the binary went to %s, relative to magefiles/", wrong)
		}
	}
	out, err := run.Output(ctx, command.Cmd{Name: exe, Args: []string{"-l"}, Dir: root})
	if err != nil || !strings.Contains(out, "publishPlatform") {
		t.Fatalf("%s -l: %v\n%s", exe, err, out)
	}
}

// Runs of one checkout with different Mage caches share the lock (they
// share magefiles/mage_output_file.go); other checkouts do not.
func TestOneLockPerCheckout(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	if lockPath(a, "/src/one/magefiles") != lockPath(b, "/src/one/magefiles") {
		t.Error("two Mage caches give one checkout two locks")
	}
	if lockPath(a, "/src/one/magefiles") == lockPath(a, "/src/two/magefiles") {
		t.Error("two checkouts share a lock")
	}
}
