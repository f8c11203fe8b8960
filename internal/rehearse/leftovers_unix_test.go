//go:build unix

package rehearse

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/command"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
)

func TestMain(m *testing.M) {
	// `<test binary> -- helper <tmp>` is a rehearsal of its own, for the
	// test that kills one.
	if i := slices.Index(os.Args, "--"); i >= 0 && len(os.Args) > i+2 && os.Args[i+1] == "helper" {
		_, err := Run(context.Background(), Options{TempDir: os.Args[i+2], RepoRoot: toolkittest.RepoRoot(),
			Facts: toolkittest.Facts("CIRCLECI=", "GITHUB_ACTIONS=", "NPM_ID_TOKEN=", "CIRCLE_TAG=", "RELEASE_CONFIG=")})
		if err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// signal is an output that closes seen once a line holding want is
// written.
type signal struct {
	want string
	mu   sync.Mutex
	buf  strings.Builder
	once sync.Once
	seen chan struct{}
}

func (s *signal) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Write(p)
	if strings.Contains(s.buf.String(), s.want) {
		s.once.Do(func() { close(s.seen) })
	}
	return len(p), nil
}

// TestKilledRehearsalLeftoversGoAtTheNextStart: a rehearsal killed with
// SIGKILL leaves its work directory (mode 0700) holding a maintainer's npm
// token; the next rehearsal removes it when it starts, but never the work
// directory of a rehearsal still running, nor one kept with -keep.
func TestKilledRehearsalLeftoversGoAtTheNextStart(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out := &signal{want: "Building the demo CLI", seen: make(chan struct{})}
	svc, err := (&command.Runner{Environ: os.Environ()}).Start(command.Cmd{Name: self, Args: []string{"-test.run=^$", "--", "helper", tmp}}, out)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	select {
	case <-out.seen:
	case <-svc.Done():
		t.Fatalf("the rehearsal ended before it built:\n%s", out.buf.String())
	case <-ctx.Done():
		t.Fatalf("the rehearsal never got to its build:\n%s", out.buf.String())
	}
	if err := syscall.Kill(svc.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-svc.Done()

	left := staleWorkDirs(tmp)
	if len(left) != 1 {
		t.Fatalf("work directories after the kill: %v", left)
	}
	fi, err := os.Stat(left[0])
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("work directory mode %v, %v; want 0700", fi.Mode().Perm(), err)
	}
	rc, err := os.ReadFile(filepath.Join(left[0], "npm-maintainer", "npmrc"))
	if err != nil || !strings.Contains(string(rc), ":_authToken=") {
		t.Fatalf("the leftover holds no maintainer token (%v): the failure is not reproduced", err)
	}

	// Kept on purpose, one an older toolkit made (no mark: it may be
	// running), and one running now: all stay.
	kept := filepath.Join(tmp, workPrefix+"kept")
	older := filepath.Join(tmp, workPrefix+"older")
	for _, d := range []string{kept, older} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(kept, workMark), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	keep(kept)
	printed := &toolkittest.Buffer{}
	running, release, err := WorkDir(tmp, report.Plain(printed))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(left[0]); !os.IsNotExist(err) {
		t.Errorf("the killed rehearsal's directory is still there (%v)", err)
	}
	if !strings.Contains(printed.String(), "left by a rehearsal that did not finish") {
		t.Errorf("printed: %q", printed.String())
	}
	another, releaseAnother, err := WorkDir(tmp, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{running, another, kept, older} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was removed: %v", d, err)
		}
	}
	releaseAnother()
	release()
	toolkittest.NoLeaks(t, nil, []string{printed.String()}, tmp)
}
