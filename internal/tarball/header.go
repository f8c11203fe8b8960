package tarball

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"
)

const (
	blockSize = 512
	// maxOctal11 is the largest size the 12-byte octal size field holds
	// (8 GiB - 1); node-tar switches to base-256 and a PAX header beyond it.
	maxOctal11 = 0o77777777777
)

// header encodes one regular-file ustar header exactly as node-tar (the tar
// writer inside npm pack) does with its `portable` option: uid, gid, uname
// and gname left empty, no atime/ctime, numbers as zero-padded octal followed
// by a space and a NUL, the checksum in the same style, and long paths split
// into the ustar prefix field at a slash.
func header(name string, mode int64, size int64, mtime int64) ([blockSize]byte, error) {
	var b [blockSize]byte
	base, prefix, err := splitPrefix(name)
	if err != nil {
		return b, err
	}
	if size < 0 || size > maxOctal11 {
		return b, fmt.Errorf("%s: size %d is beyond the 8 GiB a ustar header holds", name, size)
	}
	copy(b[0:100], base)
	putOctal(b[100:108], mode)
	// uid (108) and gid (116) stay NUL: node-tar writes nothing in portable mode.
	putOctal(b[124:136], size)
	putOctal(b[136:148], mtime)
	b[156] = '0' // regular file
	copy(b[257:265], "ustar\x0000")
	// uname (265) and gname (297) stay NUL.
	putOctal(b[329:337], 0) // devmajor
	putOctal(b[337:345], 0) // devminor
	copy(b[345:500], prefix)

	sum := int64(8 * ' ')
	for i, c := range b {
		if i < 148 || i >= 156 {
			sum += int64(c)
		}
	}
	putOctal(b[148:156], sum)
	return b, nil
}

// putOctal writes n as node-tar does: octal digits zero-padded to len-2,
// then a space and a NUL; a number needing len-1 digits gets only the NUL.
func putOctal(dst []byte, n int64) {
	s := strconv.FormatInt(n, 8)
	size := len(dst)
	if len(s) != size-1 {
		s = strings.Repeat("0", size-2-len(s)) + s + " "
	}
	copy(dst, s+"\x00")
}

// splitPrefix places a path in the 100-byte name field, or splits it at a
// slash into the 155-byte prefix and the name, the way node-tar does. Paths
// that fit neither way, or that are not ASCII, would need a PAX extended
// header; they are refused instead.
func splitPrefix(p string) (name, prefix string, err error) {
	for i := 0; i < len(p); i++ {
		if p[i] >= utf8.RuneSelf || p[i] < ' ' {
			return "", "", fmt.Errorf("path %q: only printable ASCII paths are supported (npm would need a PAX header); rename the file", p)
		}
	}
	if len(p) < 100 {
		return p, "", nil
	}
	prefix, name = path.Dir(p), path.Base(p)
	for prefix != "." && prefix != "/" {
		if len(name) <= 100 && len(prefix) <= 155 {
			return name, prefix, nil
		}
		if len(name) > 100 {
			break
		}
		name = path.Join(path.Base(prefix), name)
		prefix = path.Dir(prefix)
	}
	return "", "", fmt.Errorf("path %q is too long for a ustar header (name 100 bytes, prefix 155 bytes); shorten it", p)
}

// less orders package paths as npm-packlist does: by extension, then by base
// name (both lower-cased), then by the whole path, each compared with
// localeCompare(…, 'en'). Entries with similar content sit together, which
// helps compression. collate reproduces ICU's root collation for ASCII; other
// characters sort by code point after ASCII letters, where ICU may differ.
func less(a, b string) bool {
	if c := collate(strings.ToLower(extname(a)), strings.ToLower(extname(b))); c != 0 {
		return c < 0
	}
	if c := collate(strings.ToLower(path.Base(a)), strings.ToLower(path.Base(b))); c != 0 {
		return c < 0
	}
	if c := collate(a, b); c != 0 {
		return c < 0
	}
	return a < b
}

// icuASCII lists printable ASCII in ICU root collation order (primary
// strength, letters case-folded), as Node's localeCompare(…, 'en') sorts it.
const icuASCII = " _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$0123456789abcdefghijklmnopqrstuvwxyz"

var primaryWeight = func() [128]int {
	var w [128]int
	for i, c := range icuASCII {
		w[c] = i + 1
	}
	for c := 'A'; c <= 'Z'; c++ {
		w[c] = w[c+'a'-'A']
	}
	return w
}()

// collate compares a and b like localeCompare(a, b, 'en'): first by primary
// weights (punctuation < digits < letters, case ignored), then by case, a
// lower-case letter sorting before its upper-case form at the first
// difference. Control characters are ignorable, as in ICU.
func collate(a, b string) int {
	pa, pb := primaryKey(a), primaryKey(b)
	for i := 0; i < len(pa) && i < len(pb); i++ {
		if pa[i] != pb[i] {
			return cmpInt(pa[i], pb[i])
		}
	}
	if len(pa) != len(pb) {
		return cmpInt(len(pa), len(pb))
	}
	ra, rb := []rune(a), []rune(b)
	for i := 0; i < len(ra) && i < len(rb); i++ {
		ua, ub := ra[i] >= 'A' && ra[i] <= 'Z', rb[i] >= 'A' && rb[i] <= 'Z'
		if ua != ub {
			if ua {
				return 1
			}
			return -1
		}
	}
	return 0
}

func primaryKey(s string) []int {
	k := make([]int, 0, len(s))
	for _, r := range s {
		switch {
		case r < 128 && primaryWeight[r] > 0:
			k = append(k, primaryWeight[r])
		case r < 128:
			// control characters: completely ignorable
		default:
			k = append(k, 1000+int(r))
		}
	}
	return k
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// extname is Node's path.posix.extname: the last dot and what follows it in
// the base name, "" for names like ".npmignore" whose only dot leads.
func extname(p string) string {
	startDot, startPart, end := -1, 0, -1
	matchedSlash := true
	preDotState := 0
	for i := len(p) - 1; i >= 0; i-- {
		c := p[i]
		if c == '/' {
			if !matchedSlash {
				startPart = i + 1
				break
			}
			continue
		}
		if end == -1 {
			matchedSlash = false
			end = i + 1
		}
		if c == '.' {
			if startDot == -1 {
				startDot = i
			} else if preDotState != 1 {
				preDotState = 1
			}
		} else if startDot != -1 {
			preDotState = -1
		}
	}
	if startDot == -1 || end == -1 || preDotState == 0 ||
		(preDotState == 1 && startDot == end-1 && startDot == startPart+1) {
		return ""
	}
	return p[startDot:end]
}
