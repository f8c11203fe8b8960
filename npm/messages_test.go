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
		"  # npm\n  npm install --include=optional\n  # npm, global install (npm install -g)\n  npm install -g agent-facets@1.2.3\n",
		"  # npm\n  rm -rf node_modules package-lock.json && npm install\n  ```\n",
		"(npm/cli#4828)",
		"  # pnpm\n  pnpm add agent-facets@1.2.3\n",
		"  # npm (pins: \"overrides\" in package.json)\n  npm install\n",
		"  # Yarn 2+ with Plug'n'Play\n  rm -rf .yarn/unplugged && yarn install\n",
		"  # npm\n  rm -rf <platform package dir> && npm install\n",
		"  # Bun\n  bun pm cache rm && bun install --force\n",
		"  # Linux and macOS\n  chmod +x <binary>\n",
		"  # Windows: PowerShell, then cmd.exe\n  $env:FACET_BIN_PATH = \"C:\\path\\to\\facet.exe\"\n  set FACET_BIN_PATH=C:\\path\\to\\facet.exe\n",
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
		{"empty", "", "lacks 9 launcher cause(s)"},
		{"one fix reworded", strings.Replace(section, "npm install --include=optional", "npm i --include=optional", 1), "omitOptional:"},
		{"other version", strings.ReplaceAll(section, "agent-facets@1.2.3", "agent-facets@1.2.2"), "versionMismatch:"},
		{"fix under another package manager", strings.Replace(section, "  # pnpm\n  pnpm install\n  # Yarn 1\n  yarn install --force\n",
			"  # pnpm\n  yarn install --force\n  # Yarn 1\n  pnpm install\n", 1), "omitOptional:"},
		{"a package manager left out", strings.Replace(section, "  # Bun\n  bun pm cache rm && bun install --force\n", "", 1), "reinstallPackage:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.readme == section && tt.name != "empty" {
				t.Fatal("the change did not apply to the section")
			}
			err := CheckTroubleshooting(tt.readme, m)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("CheckTroubleshooting = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
