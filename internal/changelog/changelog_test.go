package changelog

import "testing"

const changesets = `# agent-facets

## 1.2.30

### Patch Changes

- thirty

## 1.2.3

### Minor Changes

- a8f00b1: adapters can declare facets

  ` + "```md" + `
  # not a heading
  ## 1.2.2
  ` + "```" + `

### Patch Changes

- fixed the launcher on musl

## 1.2.3-rc.1

- the candidate

## 1.2.2

- older
`

func TestSection(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, text, version, want string
		ok                        bool
	}{
		{"changesets", changesets, "1.2.3", "### Minor Changes\n\n- a8f00b1: adapters can declare facets\n\n  ```md\n  # not a heading\n  ## 1.2.2\n  ```\n\n### Patch Changes\n\n- fixed the launcher on musl", true},
		{"not a longer version", changesets, "1.2.30", "### Patch Changes\n\n- thirty", true},
		{"a prerelease", changesets, "1.2.3-rc.1", "- the candidate", true},
		{"the last section", changesets, "1.2.2", "- older", true},
		{"missing", changesets, "9.9.9", "", false},
		{"keep a changelog", "# Changelog\n\n## [Unreleased]\n\n- soon\n\n## [2.0.0] - 2025-01-02\n### Added\n- things\n\n## [1.0.0] - 2024-01-01\n- first\n", "2.0.0", "### Added\n- things", true},
		{"v and a tag prefix", "## v3.1.0\nthree\n## agent-facets@3.0.0 (2024-05-01)\nearlier\n", "3.0.0", "earlier", true},
		{"a deeper heading does not end it", "# 1.0.0\n## Fixes\n- x\n# 0.9.0\n- y\n", "1.0.0", "## Fixes\n- x", true},
		{"CRLF", "## 1.0.0\r\n\r\n- x\r\n\r\n## 0.9.0\r\n", "1.0.0", "- x", true},
		{"empty section", "## 1.0.0\n\n## 0.9.0\n- y\n", "1.0.0", "", true},
		{"not inside another word", "## 11.0.0\n- no\n## release 1.0.0.\n- yes\n", "1.0.0", "- yes", true},
		{"a prerelease does not name its release", "## 1.2.3-rc.1\n- rc\n## 1.2.3\n- final\n", "1.2.3", "- final", true},
	} {
		got, ok := Section(tc.text, tc.version)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: Section(%s) = %q, %v; want %q, %v", tc.name, tc.version, got, ok, tc.want, tc.ok)
		}
	}
}
