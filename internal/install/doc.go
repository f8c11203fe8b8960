// Package install holds the tests that install a rehearsed agent-facets
// release the way users do: one release (the 12 platform packages and the
// CLI package, demo binaries, plus this machine's platform packages at an
// older version for the tests that pin one) is published to a local
// registry, then npm, pnpm, yarn and bun install it into temporary projects
// that reach only that registry, and the installed `facet` launcher is run.
// The tests assert which platform packages each package manager installs
// (npm's os/cpu/libc filtering and its --os/--cpu/--libc overrides), what
// the launcher prints, word for word, when the right binary is not there or
// cannot run (for npm, npm -g, npx, pnpm, yarn 1, yarn 4 Plug'n'Play and
// bun), that the fix it prints repairs the install, and how often the
// binary receives a signal sent to the launcher, its process group or its
// terminal.
//
// The package has no code of its own; run it with `go test ./internal/install/`.
// The package managers other than npm are pinned in testdata/tools (pnpm,
// yarn classic, yarn berry) and internal/build/testdata/bun (bun), installed
// with `npm ci` on first use.
package install
