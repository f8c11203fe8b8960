package library

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agent-facets/release/internal/command"
)

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for rel, data := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestVerifyInstall checks the checker: a good install passes, and each
// fault it exists to catch is reported.
func TestVerifyInstall(t *testing.T) {
	t.Parallel()
	run := &command.Runner{Environ: os.Environ()}
	libs := []Expected{
		{Name: "@x/core", Version: "1.2.0", Deps: map[string]string{}},
		{Name: "@x/lib", Version: "2.0.0", Deps: map[string]string{"@x/core": "1.2.0"}},
	}
	good := map[string]string{
		"package.json":                           `{"name":"p","private":true}`,
		"node_modules/@x/core/package.json":      `{"name":"@x/core","version":"1.2.0","type":"module","exports":"./index.js"}`,
		"node_modules/@x/core/index.js":          "export const core = 1;\n",
		"node_modules/@x/lib/package.json":       `{"name":"@x/lib","version":"2.0.0","type":"module","exports":"./index.js","dependencies":{"@x/core":"^1.2.0"}}`,
		"node_modules/@x/lib/index.js":           "import { core } from \"@x/core\";\nexport const lib = core + 1;\n",
		"node_modules/.bin/placeholder/keep.txt": "",
	}
	project := t.TempDir()
	writeTree(t, project, good)
	exports, err := VerifyInstall(context.Background(), run, project, libs)
	if err != nil {
		t.Fatalf("a good install: %v", err)
	}
	if strings.Join(exports["@x/lib"], ",") != "lib" {
		t.Errorf("exports = %v", exports)
	}

	faults := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"nested older dependency", map[string]string{
			"node_modules/@x/lib/node_modules/@x/core/package.json": `{"name":"@x/core","version":"1.1.0","type":"module","exports":"./index.js"}`,
			"node_modules/@x/lib/node_modules/@x/core/index.js":     "export const core = 0;\n",
		}, "@x/lib's dependency @x/core resolves to 1.1.0, want 1.2.0 (the rewritten version)"},
		{"workspace range installed", map[string]string{
			"node_modules/@x/lib/package.json": `{"name":"@x/lib","version":"2.0.0","type":"module","exports":"./index.js","dependencies":{"@x/core":"workspace:^"}}`,
		}, "installed manifests hold workspace: ranges: @x/lib/package.json"},
		{"wrong version", map[string]string{
			"node_modules/@x/core/package.json": `{"name":"@x/core","version":"1.3.0","type":"module","exports":"./index.js"}`,
		}, "@x/core is installed at 1.3.0, want 1.2.0"},
		{"import fails", map[string]string{
			"node_modules/@x/lib/package.json": `{"name":"@x/lib","version":"2.0.0","type":"module","exports":"./dist/index.mjs","dependencies":{"@x/core":"^1.2.0"}}`,
		}, "import() of the installed libraries in Node"},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			project := t.TempDir()
			writeTree(t, project, good)
			writeTree(t, project, f.files)
			_, err := VerifyInstall(context.Background(), run, project, libs)
			if err == nil || !strings.Contains(err.Error(), f.want) {
				t.Errorf("err = %v, want %q", err, f.want)
			}
		})
	}
}
