// Package version decides the release version: from an explicit argument,
// or from the CI tag that triggered the release (e.g. "agent-facets@1.2.3"),
// and checks that it is strict semver.
package version

import (
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Resolve returns the release version. arg wins when set; otherwise tag,
// the CI tag that started the run (from names the variable it came from,
// for messages), must be tagPrefix followed by the version.
func Resolve(arg, tagPrefix, tag, from string) (string, error) {
	if arg != "" {
		return Validate(strings.TrimPrefix(arg, tagPrefix))
	}
	if tag == "" {
		return "", fmt.Errorf("no release version: pass it (e.g. -version=1.2.3) or run from a CI tag %s<version>", tagPrefix)
	}
	v, ok := strings.CutPrefix(tag, tagPrefix)
	if !ok {
		return "", fmt.Errorf("%s=%q is not a release tag: release tags look like %s1.2.3", from, tag, tagPrefix)
	}
	return Validate(v)
}

// Validate checks that v is a strict semver version (no "v" prefix) and
// returns it.
func Validate(v string) (string, error) {
	if _, err := semver.StrictNewVersion(v); err != nil {
		return "", fmt.Errorf("version %q is not valid semver (want MAJOR.MINOR.PATCH, e.g. 1.2.3 or 1.2.3-rc.1): %v", v, err)
	}
	return v, nil
}

// IsPrerelease reports whether v has a prerelease part (1.2.3-rc.1).
func IsPrerelease(v string) bool {
	sv, err := semver.StrictNewVersion(v)
	return err == nil && sv.Prerelease() != ""
}

// Less reports whether a < b in semver order; invalid versions are never less.
func Less(a, b string) bool {
	va, err1 := semver.NewVersion(a)
	vb, err2 := semver.NewVersion(b)
	return err1 == nil && err2 == nil && va.LessThan(vb)
}
