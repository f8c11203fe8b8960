package doctor

import (
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
)

func TestCompareStage(t *testing.T) {
	tests := []struct {
		npm, node string
		level     Level
		detail    string
	}{
		{"11.19.1", "v24.1.0", Pass, "npm 11.19.1 has `npm stage` (release.mode is stage)"},
		{"11.15.0", "v22.14.0", Pass, "npm 11.15.0 has `npm stage`"},
		{"11.19.1", "v20.20.2", Warn, "npm 11.19.1 stages on Node.js 20.20.2, but npm documents Node.js 22.14.0 or newer for staged publishing"},
		{"11.14.9", "v24.1.0", Fail, "npm 11.14.9 has no `npm stage`, and release.mode is stage"},
	}
	for _, tt := range tests {
		r := compareStage(semver.MustParse(tt.npm), tt.node)
		if r.Level != tt.level || !strings.HasPrefix(r.Detail, tt.detail) {
			t.Errorf("compareStage(%s, %s) = %v %q, want %v %q", tt.npm, tt.node, r.Level, r.Detail, tt.level, tt.detail)
		}
		if r.Level == Fail && !strings.Contains(r.Fix, "npm install -g npm@^11.15.0") {
			t.Errorf("fix %q", r.Fix)
		}
	}
}
