//go:build !windows

package command

// executable reports whether p is a file with an execute bit.
func executable(p string, _ []string) (string, bool) {
	fi, ok := isFile(p)
	return p, ok && fi.Mode()&0o111 != 0
}

// envKey is how the OS compares variable names: exactly.
func envKey(k string) string { return k }
