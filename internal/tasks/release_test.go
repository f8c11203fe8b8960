package tasks

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/agent-facets/release/internal/report/releasereport"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
)

// TestMaintainerTargetsReport: release:approve and release:reject write
// their report as the publishing targets do, also when they fail before
// any registry call; a bad -mode is refused with the modes.
func TestMaintainerTargetsReport(t *testing.T) {
	notOnCI(t)
	t.Setenv("NPM_CONFIG_REGISTRY", "http://127.0.0.1:9/")
	t.Setenv("NPM_OTP", "")
	writeConfig(t, toolkittest.Config(t, nil))
	missing := filepath.Join(t.TempDir(), "no-reports")
	for _, tc := range []struct {
		run       func() error
		operation string
		want      string
	}{
		{func() error { return Release{}.Approve(t.Context(), "1.2.3", s(missing)) }, "release:approve", "read the CI reports in " + missing},
		{func() error { return Release{}.Reject(t.Context(), "1.2") }, "release:reject", `version "1.2" is not valid semver`},
		{func() error { return PublishCLI(t.Context(), s("1.2.3"), nil, nil, s("staged")) }, "publishCLI", `-mode: "staged" is not a release mode: use "direct"`},
		{func() error { return Status(t.Context(), "1.2.3", nil, s("later")) }, "", `-mode: "later" is not a release mode`},
	} {
		reportPath, _ := reportFiles(t)
		err := tc.run()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.operation, err, tc.want)
			continue
		}
		if tc.operation == "" {
			continue
		}
		r := readReport(t, reportPath)
		if r.Operation != tc.operation || r.Result != releasereport.Failure || !strings.Contains(r.Error, tc.want) {
			t.Errorf("report = %+v", r)
		}
	}
}
