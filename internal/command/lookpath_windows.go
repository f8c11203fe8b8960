package command

import (
	"path/filepath"
	"strings"
)

// executable finds p, or p with one of the PATHEXT extensions (.COM, .EXE,
// .BAT, .CMD by default), as cmd.exe does.
func executable(p string, environ []string) (string, bool) {
	exts := strings.Split(strings.ToLower(Getenv(environ, "PATHEXT")), ";")
	if len(exts) == 1 && exts[0] == "" {
		exts = []string{".com", ".exe", ".bat", ".cmd"}
	}
	if ext := strings.ToLower(filepath.Ext(p)); ext != "" {
		for _, e := range exts {
			if e == ext {
				if _, ok := isFile(p); ok {
					return p, true
				}
			}
		}
	}
	for _, e := range exts {
		if e == "" {
			continue
		}
		if _, ok := isFile(p + e); ok {
			return p + e, true
		}
	}
	return "", false
}

// envKey is how Windows compares variable names: without case.
func envKey(k string) string { return strings.ToUpper(k) }
