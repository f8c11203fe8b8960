package library_test

import (
	"context"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/publish"
)

// The end-to-end tests of library releases: the demo monorepo's libraries
// released with publish.Adapters (the publishAdapters target) to local
// registries, with the real npm and the pinned Bun.

// ver is a CLI release version, for publishCLI's check.
const ver = "1.2.3"

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return c
}

func fastOpts() publish.Options {
	return publish.Options{
		Verify:  publish.Verifier{Deadline: 30 * time.Second, Min: 100 * time.Millisecond},
		Confirm: publish.Verifier{Deadline: 2 * time.Minute, Min: 100 * time.Millisecond, Rounds: 3},
	}
}

// failAuth fails the test if credentials are asked for.
type failAuth struct{ t *testing.T }

func (f failAuth) Prepare(_ context.Context, pkg, _ string) ([]string, error) {
	f.t.Errorf("credentials requested for %s on a no-op run", pkg)
	return nil, nil
}
func (failAuth) String() string { return "must not be used" }
