package ciconfig

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/aymanbagabas/go-udiff"
)

// Check compares the committed file at path with want, the freshly
// generated content. It returns nil when they are equal, and otherwise an
// error that holds a unified diff (committed → generated) and says to run
// `mage ci:generate`.
func Check(path string, want []byte) error {
	got, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s does not exist: run `go tool mage ci:generate` to create it, then commit it", path)
		}
		return fmt.Errorf("check %s: %w", path, err)
	}
	if bytes.Equal(got, want) {
		return nil
	}
	d := Diff(path+" (committed)", path+" (generated)", string(got), string(want))
	return fmt.Errorf("%s differs from what the release configuration generates: it was edited by hand or the configuration changed; run `go tool mage ci:generate` and commit the result\n%s", path, d)
}

// Diff returns a unified diff of a (named oldName) to b (named newName),
// or "" when they are equal.
func Diff(oldName, newName, a, b string) string {
	if a == b {
		return ""
	}
	return udiff.Unified(oldName, newName, a, b)
}
