// Package version decides the release version: from an explicit argument,
// or from the CI tag that triggered the release (e.g. "agent-facets@1.2.3"),
// and checks that it is strict semver.
package version

import (
	"fmt"
	"regexp"
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

// maxSafe is JavaScript's Number.MAX_SAFE_INTEGER: npm's semver refuses a
// major, minor or patch number above it.
const maxSafe = 1<<53 - 1

// maxLength is the longest version npm's semver parses.
const maxLength = 256

// Validate checks that v is a strict semver version (no "v" prefix) that
// npm publishes exactly as written, and returns it. npm normalises a
// version with semver.clean before it publishes it, so a version that
// clean would change is refused: build metadata (npm publishes
// 1.2.3+build.5 as 1.2.3, after which the registry never serves the
// version asked for), numbers beyond JavaScript's safe integers, and
// versions longer than 256 characters.
func Validate(v string) (string, error) {
	sv, err := semver.StrictNewVersion(v)
	if err != nil {
		return "", fmt.Errorf("version %q is not valid semver (want MAJOR.MINOR.PATCH, e.g. 1.2.3 or 1.2.3-rc.1): %v", v, err)
	}
	if md := sv.Metadata(); md != "" {
		base := strings.TrimSuffix(v, "+"+md)
		return "", fmt.Errorf("version %q carries build metadata (+%s), which npm drops: it would publish %s instead, and the registry would never serve %s; use a prerelease such as %s-%s, or a new patch version", v, md, base, v, base, md)
	}
	for _, n := range []uint64{sv.Major(), sv.Minor(), sv.Patch()} {
		if n > maxSafe {
			return "", fmt.Errorf("version %q has a number above %d, which npm's semver cannot hold: use smaller numbers", v, uint64(maxSafe))
		}
	}
	if len(v) > maxLength {
		return "", fmt.Errorf("version %q is %d characters long; npm's semver reads at most %d", v, len(v), maxLength)
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

var (
	tagRE        = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._-]*$`)
	tagVersionRE = regexp.MustCompile(`^[vV]?([0-9]|[xX*](\.|$))`)
)

// CheckTag checks a dist-tag before npm sees it: a word that starts with a
// letter (latest, next, beta), not something npm would read as a flag
// (--registry=...), a version or a range (1.2.3, v1, x): npm refuses tags
// that are valid semver ranges, and a tag that looks like a version
// confuses everyone who installs name@tag.
func CheckTag(tag string) error {
	switch {
	case tag == "":
		return fmt.Errorf("the dist-tag is empty: use a word such as latest or next")
	case strings.HasPrefix(tag, "-"):
		return fmt.Errorf("dist-tag %q looks like a command-line flag: use a word such as latest or next", tag)
	case tagVersionRE.MatchString(tag):
		return fmt.Errorf("dist-tag %q looks like a version or a range, which npm refuses (and installers would read as one): use a word such as latest, next or beta", tag)
	case !tagRE.MatchString(tag):
		return fmt.Errorf("dist-tag %q is not a valid dist-tag: use a word that starts with a letter and holds only letters, digits, '.', '_' and '-', such as next", tag)
	}
	return nil
}
