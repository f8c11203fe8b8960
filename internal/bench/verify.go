package bench

import (
	"context"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/agent-facets/release/internal/publish"
	"github.com/agent-facets/release/internal/registry"
	"github.com/agent-facets/release/internal/report"
)

// VerifyResult is the verification pair: the registry serves a published
// version only T after the publish (a CDN's stale packument); how long after
// that does publish.Verifier notice it, and when would the old doubling
// schedule have?
type VerifyResult struct {
	Cases []VerifyCase
	// OneView is the median time of one `npm view`, with which the old
	// schedule is computed.
	OneView time.Duration
}

// VerifyCase is one delay T.
type VerifyCase struct {
	T       time.Duration
	Package string
	// Late is the time from the version's visibility to Verifier.Wait
	// returning.
	Late time.Duration
	// OldLate is when the old schedule would have noticed, after visibility.
	OldLate time.Duration
}

// Bound is the goal for a delay T: T/10 + 1 s.
func (c VerifyCase) Bound() time.Duration { return c.T/10 + time.Second }

// Goals implements the verification goal: noticed within T/10 + 1 s.
func (r *VerifyResult) Goals() []Goal {
	var out []Goal
	for _, c := range r.Cases {
		out = append(out, Goal{Pair: "3. verification", Goal: fmt.Sprintf("T = %s: noticed within %s of visibility", c.T, sec(c.Bound())),
			Measured: fmt.Sprintf("%s (old doubling schedule: %s)", sec(c.Late), sec(c.OldLate)), Met: c.Late <= c.Bound()})
	}
	return out
}

// verify runs every delay once, at the same time, each on its own package
// of the release on r; oneView are the timings of one npm view.
func (w *world) verify(ctx context.Context, r *localRegistry, oneView []Span) (*VerifyResult, error) {
	e := w.env(r.npmEnv, w.quiet)
	pkgs := e.CLIPackages()
	if len(w.o.Visibility) > len(pkgs) {
		return nil, fmt.Errorf("bench: %d visibility delays but only %d packages to hide: use at most %d", len(w.o.Visibility), len(pkgs), len(pkgs))
	}
	res := &VerifyResult{OneView: median(walls(oneView)), Cases: make([]VerifyCase, len(w.o.Visibility))}
	g, gctx := errgroup.WithContext(ctx)
	for i, T := range w.o.Visibility {
		name := pkgs[len(pkgs)-1-i] // platform packages, from the last
		g.Go(func() error {
			st := e.Reg.Check(gctx, r.reg.URL, registry.Spec{Name: name, Version: version}, true)
			if st.Err != nil || st.State != registry.Published {
				return fmt.Errorf("bench: %s@%s should be on the registry: %s %v", name, version, st.State, st.Err)
			}
			before := time.Now()
			r.reg.HideVersion(name, version, T)
			v := publish.Verifier{Env: e} // the publishing targets' defaults
			if err := v.Wait(gctx, name, []publish.Expect{{Name: name, Version: version, Integrity: st.Integrity}}); err != nil {
				return fmt.Errorf("bench: verify %s@%s: %w", name, version, err)
			}
			res.Cases[i] = VerifyCase{T: T, Package: name, Late: time.Since(before) - T, OldLate: oldSchedule(T, res.OneView)}
			return nil
		})
	}
	var waiting []string
	for _, T := range w.o.Visibility {
		waiting = append(waiting, T.String())
	}
	w.out.Line(report.Wait, "waiting for versions that appear after %s (at the same time)", strings.Join(waiting, ", "))
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, c := range res.Cases {
		w.out.Line(report.OK, "T = %s: noticed %s after it appeared (goal %s; the old schedule: %s)", c.T, sec(c.Late), sec(c.Bound()), sec(c.OldLate))
	}
	return res, nil
}

// oldTries are the moments the old scripts' tries saw the registry: they
// ran `npm view` (taking view each), and while it did not print the version
// paused 1 s, 2 s, 4 s … 128 s. A try sees the registry when its request is
// made, at the end of the process's run.
func oldTries(view time.Duration) []time.Duration {
	tries := []time.Duration{view}
	for _, d := range oldDelays {
		tries = append(tries, tries[len(tries)-1]+d*time.Second+view)
	}
	return tries
}

// oldSchedule is how late, after T, the old scripts noticed a version
// visible after T. A negative result means they gave up before T.
func oldSchedule(T, view time.Duration) time.Duration {
	for _, at := range oldTries(view) {
		if at >= T {
			return at - T
		}
	}
	return -1
}
