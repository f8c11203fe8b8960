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
