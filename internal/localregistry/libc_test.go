package localregistry_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/agent-facets/release/internal/localregistry/localregistrytest"
)

// TestAbbreviatedPackumentLeavesOutLibc pins how the registry serves the
// platform fields of a native package, because the install tests depend on
// it: the full packument carries os, cpu and libc; the abbreviated one
// (Accept: application/vnd.npm.install-v1+json, what installers ask for)
// carries os and cpu but not libc. That is also what the public registry
// serves (npm/registry#26: libc is not in the abbreviated version object),
// so the front must not add it: a package manager that filters by libc has
// to read the full document, here as there.
func TestAbbreviatedPackumentLeavesOutLibc(t *testing.T) {
	t.Parallel()
	reg := localregistrytest.Start(t)
	token := reg.AddUser(t, "native")
	const name = "@testreg/native-linux-x64-musl"
	dir := t.TempDir()
	manifest, _ := json.Marshal(map[string]any{
		"name": name, "version": "1.0.0", "license": "MIT",
		"os": []string{"linux"}, "cpu": []string{"x64"}, "libc": []string{"musl"},
	})
	if err := os.WriteFile(filepath.Join(dir, "package.json"), manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	mustNpm(t, dir, reg.NpmEnv(t, token), "publish", "--access", "public")

	type fields struct {
		OS   []string `json:"os"`
		CPU  []string `json:"cpu"`
		Libc []string `json:"libc"`
	}
	tests := []struct {
		name        string
		abbreviated bool
		wantLibc    []string
	}{
		{"full", false, []string{"musl"}},
		{"abbreviated", true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, p := getPackument(t, reg, name, tt.abbreviated, "")
			if status != http.StatusOK {
				t.Fatalf("status %d", status)
			}
			var v fields
			if err := json.Unmarshal(p.Versions["1.0.0"], &v); err != nil {
				t.Fatalf("version 1.0.0: %v: %s", err, p.Versions["1.0.0"])
			}
			if !slices.Equal(v.OS, []string{"linux"}) || !slices.Equal(v.CPU, []string{"x64"}) {
				t.Errorf("os %v cpu %v, want [linux] [x64]", v.OS, v.CPU)
			}
			if !slices.Equal(v.Libc, tt.wantLibc) {
				t.Errorf("libc %v, want %v", v.Libc, tt.wantLibc)
			}
		})
	}
}
