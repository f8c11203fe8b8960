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

// UnreadableError: the registry could not be read for some of the expected
// versions, so nothing is known of them: they are not "missing".
type UnreadableError struct {
	Waited time.Duration
	// Unreadable are the name@version that could not be read, and Causes
	// what the registry last answered for each, in the same order.
	Unreadable, Causes []string
	// Pending are those read fine but not visible yet.
	Pending []string
	// AtOnce is set when a failure that asking again cannot mend (refused
	// connection, unknown host, TLS, a 4xx but 404 and 429) ended the wait.
	AtOnce bool

	names []string // the package names of Unreadable
}

func (e *UnreadableError) Error() string {
	// The same answer for many packages is said once.
	var causes []string
	seen := map[string]bool{}
	for i, c := range e.Causes {
		general := c
		if i < len(e.names) {
			general = strings.ReplaceAll(strings.ReplaceAll(c, registry.EscapeName(e.names[i]), "<package>"), e.names[i], "<package>")
		}
		if !seen[general] {
			seen[general] = true
			causes = append(causes, general)
		}
	}
	msg := fmt.Sprintf("the registry could not be read for %d package(s) (%s), so whether they are published is not known: %s", len(e.Unreadable), strings.Join(e.Unreadable, ", "), strings.Join(causes, "; "))
	if e.AtOnce {
		msg += "; stopped at once, since asking again cannot mend that"
	} else {
		msg += fmt.Sprintf("; gave up after %s", e.Waited.Round(time.Second))
	}
	if len(e.Pending) > 0 {
		msg += "; not visible yet: " + strings.Join(e.Pending, ", ")
	}
	return msg
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
	// Rounds, when set, also ends the wait after that many complete reads
	// of every pending version: a bound counted in the registry's answers,
	// not in time (tests that expect a version never to appear).
	Rounds int
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
	why := map[string]string{}
	unreadable := map[string]bool{}
	rounds := 0
	op := func() error {
		specs := make([]registry.Spec, len(pending))
		for i, x := range pending {
			specs[i] = registry.Spec{Name: x.Name, Version: x.Version}
		}
		results, _ := e.Reg.CheckAll(ctx, regFor, specs, false)
		if ctx.Err() != nil {
			// The deadline cut this round short: the reasons of the last
			// complete round stand, and where there are none, this round's
			// errors (which keep the registry's last answer).
			for i, r := range results {
				if x := pending[i].String(); why[x] == "" && r.Err != nil {
					why[x], unreadable[x] = r.Err.Error(), true
				}
			}
			return backoff.Permanent(ctx.Err())
		}
		var still []Expect
		var unrecoverable []string
		why, unreadable = map[string]string{}, map[string]bool{}
		for i, r := range results {
			x := pending[i]
			switch {
			case r.Err != nil:
				why[x.String()], unreadable[x.String()] = r.Err.Error(), true
				if registry.IsUnrecoverable(r.Err) {
					unrecoverable = append(unrecoverable, x.String())
				}
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
		if len(unrecoverable) > 0 {
			return backoff.Permanent(errUnrecoverable)
		}
		if len(pending) == 0 {
			return nil
		}
		if rounds++; v.Rounds > 0 && rounds >= v.Rounds {
			return backoff.Permanent(errRounds)
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
		ue := &UnreadableError{Waited: ne.Waited, AtOnce: errors.Is(err, errUnrecoverable)}
		for _, x := range pending {
			reason := why[x.String()]
			switch {
			case reason == "" || unreadable[x.String()]:
				ue.Unreadable, ue.Causes, ue.names = append(ue.Unreadable, x.String()), append(ue.Causes, cmp.Or(reason, "no answer from the registry before the deadline")), append(ue.names, x.Name)
			default:
				ne.Pending = append(ne.Pending, fmt.Sprintf("%s (%s)", x, reason))
			}
		}
		if len(ue.Unreadable) > 0 {
			ue.Pending = ne.Pending
			return ue
		}
		return ne
	}
	e.Out.Line(report.OK, "registry serves %s (%s)", what, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// errRounds ends a wait after Verifier.Rounds reads.
var errRounds = errors.New("read as many times as asked")

// errUnrecoverable ends a wait that asking again cannot mend.
var errUnrecoverable = errors.New("the registry cannot be read")

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
