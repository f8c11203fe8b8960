// Package changelog finds one version's section in a Markdown changelog
// (CHANGELOG.md as changesets, Keep a Changelog or a person writes it), for
// the notes of a GitHub Release.
package changelog

import (
	"regexp"
	"strings"
)

var (
	heading = regexp.MustCompile(`^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t#]*$`)
	fence   = regexp.MustCompile("^ {0,3}(```|~~~)")
)

// Section returns the body of version's section in text: what follows the
// first heading that names the version (as "1.2.3", "v1.2.3", "[1.2.3]",
// "agent-facets@1.2.3", with or without a date after it), up to the next
// heading of the same or a higher level, without surrounding blank lines.
// A heading naming 1.2.30 or 1.2.3-rc.1 does not name 1.2.3. Headings in
// fenced code blocks are not headings. ok is false when no heading names the
// version.
func Section(text, version string) (body string, ok bool) {
	names := regexp.MustCompile(`(^|[^0-9A-Za-z.+-])v?` + regexp.QuoteMeta(version) + `\.?($|[^0-9A-Za-z.+-])`)
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	level, start, end := 0, -1, len(lines)
	inFence := ""
	for i, line := range lines {
		if m := fence.FindStringSubmatch(line); m != nil {
			switch {
			case inFence == "":
				inFence = m[1]
			case m[1] == inFence:
				inFence = ""
			}
			continue
		}
		if inFence != "" {
			continue
		}
		m := heading.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if start < 0 {
			if names.MatchString(m[2]) {
				level, start = len(m[1]), i+1
			}
			continue
		}
		if len(m[1]) <= level {
			end = i
			break
		}
	}
	if start < 0 {
		return "", false
	}
	return strings.Trim(strings.Join(lines[start:end], "\n"), "\n \t"), true
}
