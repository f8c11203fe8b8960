package ciconfig

import (
	"flag"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the example pipelines in internal/ciconfig/examples from release.json")

// examplesDir holds the committed example pipelines the README points to.
const examplesDir = "examples"

// TestExamplesUpToDate fails when examples/ no longer matches what
// release.json generates, so a hand edit of an example fails `go test`.
// Refresh them with `go test ./internal/ciconfig -run TestExamplesUpToDate -update`.
func TestExamplesUpToDate(t *testing.T) {
	cfg := loadConfig(t)
	if *update {
		if err := Write(cfg, examplesDir, WithLayout(ExamplesLayout)); err != nil {
			t.Fatal(err)
		}
	}
	if err := Verify(cfg, examplesDir, WithLayout(ExamplesLayout)); err != nil {
		t.Errorf("%v\n(to refresh the examples: go test ./internal/ciconfig -run TestExamplesUpToDate -update)", err)
	}
}
