package npm

import (
	"strings"
	"testing"
)

func TestTroubleshooting(t *testing.T) {
	m := fixtureManifest()
	section, err := Troubleshooting(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckTroubleshooting(section, m); err != nil {
		t.Fatalf("generated section fails its own check: %v", err)
	}
	for _, want := range []string{
		"## Troubleshooting",
		"  npm install agent-facets\n  # or\n  npm install --include=optional\n",
		"  rm -rf node_modules package-lock.json && npm install\n",
		"(npm/cli#4828)",
		"  npm install agent-facets@1.2.3\n",
	} {
		if !strings.Contains(section, want) {
			t.Errorf("section lacks %q:\n%s", want, section)
		}
	}

	tests := []struct {
		name   string
		readme string
		want   string
	}{
		{"empty", "", "lacks 17 launcher message(s)"},
		{"one fix reworded", strings.Replace(section, "npm install --include=optional", "npm i --include=optional", 1), `omitOptional: "npm install --include=optional"`},
		{"other version", strings.ReplaceAll(section, "agent-facets@1.2.3", "agent-facets@1.2.2"), `versionMismatch: "npm install agent-facets@1.2.3"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckTroubleshooting(tt.readme, m)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("CheckTroubleshooting = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
