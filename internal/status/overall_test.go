package status_test

import (
	"testing"

	"github.com/agent-facets/release/internal/status"
)

func TestOverall(t *testing.T) {
	complete := &status.Report{Complete: true, Next: "nothing: the release is complete"}
	staged := &status.Report{AwaitingApproval: true, Next: "release:approve 1.2.3"}
	missing := &status.Report{Next: "publishCLI"}
	libsDone := &status.LibraryReport{Complete: true, Next: "nothing"}
	libsStaged := &status.LibraryReport{AwaitingApproval: true, Next: "release:approve @s/lib@1.0.0 -reports=<dir>"}
	libsMissing := &status.LibraryReport{Next: "publishAdapters"}
	for _, tt := range []struct {
		name  string
		r     *status.Report
		lr    *status.LibraryReport
		stage bool
		done  bool
		next  string
	}{
		{"complete, no libraries asked", complete, nil, false, true, "nothing: the release is complete"},
		{"staged in direct mode", staged, nil, false, false, "release:approve 1.2.3"},
		{"staged in stage mode", staged, nil, true, true, "release:approve 1.2.3"},
		{"libraries done", complete, libsDone, false, true, "nothing: the release is complete"},
		{"libraries missing", complete, libsMissing, false, false, "publishAdapters"},
		{"both missing", missing, libsMissing, false, false, "publishCLI; libraries: publishAdapters"},
		{"public, libraries staged", complete, libsStaged, true, true, "release:approve @s/lib@1.0.0 -reports=<dir>"},
		{"all staged: one approval", staged, libsStaged, true, true, "release:approve 1.2.3"},
		{"libraries staged in direct mode", complete, libsStaged, false, false, "release:approve @s/lib@1.0.0 -reports=<dir>"},
	} {
		done, next, _ := status.Overall(tt.r, tt.lr, tt.stage)
		if done != tt.done || next != tt.next {
			t.Errorf("%s: done=%v next=%q, want %v %q", tt.name, done, next, tt.done, tt.next)
		}
	}
}
