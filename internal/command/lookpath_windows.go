package command

import "strings"

// executable finds p, or p with one of the PATHEXT extensions, as cmd.exe
// does.
func executable(p string, environ []string) (string, bool) {
	return withExtension(p, Getenv(environ, "PATHEXT"))
}

// envKey is how Windows compares variable names: without case.
func envKey(k string) string { return strings.ToUpper(k) }
