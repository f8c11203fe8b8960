package publish_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/command"
	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/pack"
	"github.com/agent-facets/release/internal/publish"
	"github.com/agent-facets/release/internal/tarball"
	"github.com/agent-facets/release/internal/toolkit"
)

// helper runs as a toolkit process of its own, for the tests that kill
// one: "publish <config> <target> <version>" publishes a platform package
// with trusted publishing; "pack <config> <target> <version> <file>" packs
// it with one more file, read from file (a FIFO the test holds).
func helper(args []string) int {
	if len(args) < 4 {
		fmt.Fprintln(os.Stderr, "helper: want <what> <config> <target> <version>")
		return 2
	}
	cfg, err := config.Load(args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	e := toolkit.New(cfg, toolkit.ReadFacts(os.Environ(), false), os.Stdout)
	t, err := cfg.Target(args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	switch args[0] {
	case "publish":
		o := publish.Options{Auth: publish.NewOIDC(e)}
		_, err = publish.Platform(context.Background(), e, t.Name, args[3], o)
	case "pack":
		var c *pack.Contents
		if c, err = pack.PlatformContents(e, t, args[3]); err == nil {
			c.Files = append(c.Files, tarball.File{Path: "bin/extra", Source: args[4], Mode: 0o644})
			_, err = pack.Write(e, c)
		}
	default:
		err = fmt.Errorf("helper: unknown %q", args[0])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// startHelper starts this test binary as a helper toolkit process with env
// (on top of nothing but PATH and HOME: what a CI job has) and the
// configuration cfg.
func startHelper(t *testing.T, cfg *config.Config, env []string, args ...string) *command.Service {
	t.Helper()
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "release.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	run := &command.Runner{Environ: env}
	svc, err := run.Start(command.Cmd{Name: self, Args: append([]string{"-test.run=^$", "--", "helper", args[0], path}, args[1:]...)}, &lines{t: t})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Stop)
	return svc
}

// lines logs a helper's output to the test.
type lines struct {
	t  *testing.T
	mu sync.Mutex
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		l.t.Logf("helper: %s", line)
	}
	return len(p), nil
}

var _ io.Writer = (*lines)(nil)

// deadline is a context for waits on events that must come.
func deadline(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return c
}
