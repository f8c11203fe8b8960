package toolkit_test

import (
	"strings"
	"testing"

	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/report"

	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
)

func TestPackageSets(t *testing.T) {
	t.Parallel()
	e, _ := toolkittest.Env(t, toolkittest.Config(t, nil))
	for which, n := range map[string]int{"cli": 13, "adapters": 3, "all": 16, "": 16} {
		got, err := e.Packages(which)
		if err != nil || len(got) != n {
			t.Errorf("Packages(%q) = %d, %v; want %d", which, len(got), err, n)
		}
	}
	if _, err := e.Packages("everything"); err == nil || !strings.Contains(err.Error(), "use "+toolkit.Sets) {
		t.Errorf("err = %v", err)
	}
}

// TestLibrariesDiscovery: the one set every library target sees, and a
// reason for every workspace package left out.
func TestLibrariesDiscovery(t *testing.T) {
	t.Parallel()
	e, _ := toolkittest.Env(t, toolkittest.Config(t, func(c *config.Config) { c.CLI.Source = toolkittest.SourceDir }))
	d, err := e.Libraries()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(toolkit.Names(d.Packages), " "); got != "@agent-facets/adapter @agent-facets/adapter-claude @agent-facets/adapter-openai" {
		t.Errorf("libraries %s", got)
	}
	set, _ := e.Packages("adapters")
	if strings.Join(set, " ") != strings.Join(toolkit.Names(d.Packages), " ") {
		t.Errorf("Packages(adapters) = %v, not the libraries", set)
	}
	var b strings.Builder
	d.PrintSkipped(report.Plain(&b))
	want := `~ @agent-facets/cli-linux-x64 (packages/cli-linux-x64) skipped: matches adapters.exclude [cli-*]: not a library
~ @agent-facets/dev-tools (packages/dev-tools) skipped: private ("private": true in its package.json): never published
~ agent-facets (packages/cli) skipped: private: the CLI's source (cli.source); publishCLI publishes agent-facets
`
	if b.String() != want {
		t.Errorf("skip lines:\n%s\nwant:\n%s", b.String(), want)
	}
}
