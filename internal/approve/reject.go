package approve

import (
	"context"
	"fmt"
	"strings"

	"github.com/agent-facets/release/internal/fanout"
	"github.com/agent-facets/release/internal/npmcli"
	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/registry"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/toolkit"
)

// Reject deletes, unapproved, every staged publish of the release v: the
// CLI package's first, so that it can never be approved over rejected
// binaries, then the platform packages' and the libraries'. Published
// versions are left alone (they cannot be rejected). Rejecting needs a
// one-time password as approving does; run it again after any failure.
func Reject(ctx context.Context, e *toolkit.Env, v string, o Options) ([]outcome.Record, error) {
	items, err := plan(ctx, e, v)
	if err != nil {
		return nil, err
	}
	// The CLI package first.
	items = append(items[len(items)-1:], items[:len(items)-1]...)
	r := o.reader(e)
	fanout.Each(6, items, func(_ int, it *item) struct{} {
		st := e.Reg.Check(ctx, it.Registry, registry.Spec{Name: it.Name, Version: it.Version}, true)
		switch {
		case st.Err != nil:
			it.Problem = "cannot read it from the registry: " + st.Err.Error()
		case st.State == registry.Published:
			it.Rec.Action, it.Rec.Integrity, it.Rec.Note = outcome.Identical, st.Integrity, "already published: a published version cannot be rejected"
		default:
			found, err := r.Find(ctx, it.Registry, it.Name, it.Version)
			switch {
			case err != nil:
				it.Problem = "cannot read its staged versions: " + err.Error()
			case len(found) == 0:
				it.Rec.Action, it.Rec.Note = outcome.Skipped, "nothing staged"
			default:
				it.All, it.Staged = found, found[0]
				it.Rec.Action, it.Rec.StageID = outcome.Staged, found[0].ID
			}
		}
		return struct{}{}
	})
	recs := func() []outcome.Record {
		out := make([]outcome.Record, len(items))
		for i, it := range items {
			out[i] = it.Rec
		}
		return out
	}
	var failed []string
	for _, it := range items {
		if it.Problem != "" {
			it.Rec = outcome.Fail(it.Name, it.Version, fmt.Errorf("%s", it.Problem))
			e.Out.Line(report.Failed, "%s: %s", it, it.Problem)
			failed = append(failed, it.String())
		}
	}
	c := &codes{code: o.OTP, ask: o.AskOTP}
	for _, it := range items {
		switch it.Rec.Action {
		case outcome.Identical:
			e.Out.Line(report.Warn, "%s is already published: a published version cannot be rejected", it)
			continue
		case outcome.Skipped:
			e.Out.Line(report.Skipped, "%s: nothing staged", it)
			continue
		case outcome.Staged:
		default:
			continue
		}
		var ids []string
		for _, s := range it.All {
			e.Out.Line(report.Wait, "rejecting %s (id %s)", it, s.ID)
			err := c.with(ctx, "reject the staged release "+v, func(code string) error {
				return e.NPM.StageReject(ctx, s.ID, it.Registry, code, false)
			})
			if npmcli.IsCode(err, "EOTP") {
				it.Rec.Error = err.Error()
				return recs(), otpError(v, "reject", it, items, err)
			}
			if err != nil {
				it.Rec = outcome.Fail(it.Name, it.Version, err)
				e.Out.Line(report.Failed, "%s: %v", it, err)
				failed = append(failed, it.String())
				break
			}
			ids = append(ids, s.ID)
		}
		if len(ids) == len(it.All) {
			it.Rec.Action, it.Rec.Note = outcome.Rejected, "rejected (id "+strings.Join(ids, ", ")+")"
			e.Out.Line(report.Added, "%s rejected", it)
		}
	}
	if len(failed) > 0 {
		return recs(), fmt.Errorf("could not reject %s (see above); run release:reject %s again", strings.Join(failed, ", "), v)
	}
	return recs(), nil
}
