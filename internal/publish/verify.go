package publish

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/agent-facets/release/internal/registry"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/toolkit"
)

// Expect is a version the registry must serve, with the integrity it must
// have (empty: any). Shasum, when known, is the same tarball's SHA-1, which
// a registry's staging area lists.
type Expect struct {
	Name, Version, Integrity string
	// Registry is where to look (a library's publishConfig.registry);
	// empty means npm's registry for the name.
	Registry string
	Shasum   string
}

func (x Expect) String() string { return x.Name + "@" + x.Version }

// Proportional is the verification schedule: it waits a tenth of the time
// waited so far, at least Min and at most Max, so that a version that becomes
// visible after T is noticed within about max(Min, T/10) — never the
// doubling of the old scripts, which noticed a version visible after 65 s
// only after 127 s.
type Proportional struct {
	Min, Max time.Duration
	start    time.Time
	now      func() time.Time
}

// NewProportional returns a schedule starting now.
func NewProportional(min, max time.Duration) *Proportional {
	p := &Proportional{Min: min, Max: max, now: time.Now}
	p.Reset()
	return p
}

// Reset restarts the clock.
func (p *Proportional) Reset() { p.start = p.now() }

// NextBackOff implements backoff.BackOff.
func (p *Proportional) NextBackOff() time.Duration {
	d := p.now().Sub(p.start) / 10
	if d < p.Min {
		d = p.Min
	}
	if p.Max > 0 && d > p.Max {
		d = p.Max
	}
	return d
}

// NotVisibleError lists what the registry did not serve by the deadline.
type NotVisibleError struct {
	Waited  time.Duration
	Pending []string // "name@version (why)"
}

func (e *NotVisibleError) Error() string {
	return fmt.Sprintf("after %s the registry still does not serve %s", e.Waited.Round(time.Second), strings.Join(e.Pending, ", "))
}

// Verifier polls the registry until it serves expected versions.
type Verifier struct {
	Env *toolkit.Env
	// Deadline bounds the whole wait. Zero means 10 minutes.
	Deadline time.Duration
	// Min and Max bound one pause (defaults 500 ms and 15 s).
	Min, Max time.Duration
	// Progress is how often a line reports a long wait. Zero means 10 s.
	Progress time.Duration
}

// Wait returns once the registry serves every expected version with its
// integrity, as installers see it (no cache bypass). A version with other
// bytes fails at once; anything else is retried until the deadline.
func (v *Verifier) Wait(ctx context.Context, what string, xs []Expect) error {
	e := v.Env
	deadline := v.Deadline
	if deadline == 0 {
		deadline = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	var names []string
	own := map[string]string{}
	for _, x := range xs {
		if x.Registry != "" {
			own[x.Name] = x.Registry
		} else {
			names = append(names, x.Name)
		}
	}
	npmFor, err := e.RegistryFor(ctx, names)
	if err != nil {
		return err
	}
	regFor := func(n string) string { return cmp.Or(own[n], npmFor(n)) }
	sched := NewProportional(cmp.Or(v.Min, 500*time.Millisecond), cmp.Or(v.Max, 15*time.Second))
	start := time.Now()
	lastProgress := start
	progressEvery := cmp.Or(v.Progress, 10*time.Second)
	pending := xs
	var why map[string]string
	op := func() error {
		specs := make([]registry.Spec, len(pending))
		for i, x := range pending {
			specs[i] = registry.Spec{Name: x.Name, Version: x.Version}
		}
		results, _ := e.Reg.CheckAll(ctx, regFor, specs, false)
		if ctx.Err() != nil {
			// The deadline cut this round short: the reasons of the last
			// complete round stand.
			return backoff.Permanent(ctx.Err())
		}
		var still []Expect
		why = map[string]string{}
		for i, r := range results {
			x := pending[i]
			switch {
			case r.Err != nil:
				why[x.String()] = "registry error: " + r.Err.Error()
			case r.State == registry.PackageMissing:
				why[x.String()] = "package not found"
			case r.State == registry.VersionMissing:
				why[x.String()] = "version not listed yet"
			case x.Integrity != "" && r.Integrity != x.Integrity:
				return backoff.Permanent(&DifferentBytesError{Name: x.Name, Version: x.Version, Local: x.Integrity, Registry: r.Integrity})
			default:
				continue
			}
			still = append(still, x)
		}
		pending = still
		if len(pending) == 0 {
			return nil
		}
		if time.Since(lastProgress) >= progressEvery {
			lastProgress = time.Now()
			e.Out.Line(report.Wait, "waiting for the registry to serve %s (%s so far, deadline %s)", list(pending), time.Since(start).Round(time.Second), deadline)
		}
		return errors.New("not visible yet")
	}
	err = backoff.Retry(op, backoff.WithContext(sched, ctx))
	var db *DifferentBytesError
	if errors.As(err, &db) {
		return err
	}
	if err != nil {
		ne := &NotVisibleError{Waited: time.Since(start)}
		for _, x := range pending {
			reason := why[x.String()]
			if reason == "" {
				reason = "no answer from the registry before the deadline"
			}
			ne.Pending = append(ne.Pending, fmt.Sprintf("%s (%s)", x, reason))
		}
		return ne
	}
	e.Out.Line(report.OK, "registry serves %s (%s)", what, time.Since(start).Round(100*time.Millisecond))
	return nil
}

func list(xs []Expect) string {
	var s []string
	for _, x := range xs {
		s = append(s, x.String())
	}
	if len(s) > 4 {
		return fmt.Sprintf("%s and %d more", strings.Join(s[:4], ", "), len(s)-4)
	}
	return strings.Join(s, ", ")
}
