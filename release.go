// The !mage constraint keeps this file out of what Mage scans for
// magefiles in the repository root: `mage -debug` looks there as if it were
// the magefiles directory and would otherwise give up on finding no target.
// Mage compiles without build tags, so the package is still built.

//go:build !mage

// Package release holds the toolkit's default release configuration,
// release.json, so that a rehearsal runs from a fresh clone with nothing
// else. The toolkit itself lives in internal/, platforms/ and npm/; its
// targets are in magefiles/.
package release

import _ "embed"

// DefaultConfig is release.json as committed.
//
//go:embed release.json
var DefaultConfig []byte
