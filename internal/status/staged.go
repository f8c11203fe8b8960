package status

import (
	"context"
	"fmt"

	"github.com/agent-facets/release/internal/outcome"
	"github.com/agent-facets/release/internal/publish"
	"github.com/agent-facets/release/internal/toolkit"
)

// lookStaged looks for row's version among the staged ones and reports
// whether it found something to say: staged (with the local build's bytes
// when they are known), staged with other bytes, or a staging area it could
// not read, reading reg (the registry itself: row.Registry may be
// redacted). It reads only; nothing found means the version is missing.
func lookStaged(ctx context.Context, e *toolkit.Env, r *publish.StagedReader, reg string, row *outcome.Record) bool {
	found, err := r.Find(ctx, reg, row.Package, row.Version)
	switch {
	case err != nil:
		row.Action, row.Error = outcome.Failed, "not published, and its staged versions could not be read: "+err.Error()
		return true
	case len(found) == 0:
		return false
	}
	it := found[0]
	row.Action, row.StageID = outcome.Staged, it.ID
	row.Note = fmt.Sprintf("staged (id %s), waiting for a maintainer's approval", it.ID)
	if len(found) > 1 {
		row.Note = fmt.Sprintf("staged %d times (first id %s): reject all but one", len(found), it.ID)
	}
	if row.Local == "" {
		return true
	}
	integrity, err := r.Integrity(ctx, reg, it)
	switch {
	case err != nil:
		row.Action, row.Error = outcome.Failed, "staged, but its tarball could not be read: "+err.Error()
	case integrity != row.Local:
		row.Integrity = integrity
		row.Action, row.Note = outcome.Different, fmt.Sprintf("the staging area holds other bytes than this build (id %s)", it.ID)
	default:
		row.Integrity = integrity
	}
	return true
}
