package tasks

import (
	"context"

	"github.com/agent-facets/release/internal/bench"
)

// Bench measures the toolkit against the npm CLI doing the same work and writes BENCHMARKS.md.
//
// Against throwaway local registries (nothing leaves this machine) it runs
// four pairs, alternately and several times, and reports medians, ratios,
// the goals and what bounds a missed one: the registry state of a release
// (the toolkit's check vs `npm view` per package vs plain HTTP GETs),
// packing a platform package (internal/tarball vs `npm pack`: time, size,
// peak memory), verification latency for versions the registry serves only
// after 5, 30 and 90 s, and a whole release (vs sequential `npm publish` +
// `npm view`). It takes about five minutes on two CPUs (more on first use,
// which installs Verdaccio and compiles the demo CLI) and needs Go,
// Node.js and npm.
//
// Example: go tool mage bench
func Bench(ctx context.Context,
	runs *int, // runs of the state and packing pairs (default 5)
	size *int, // MiB of the packed binary (default 100)
	out *string, // where to write the report (default BENCHMARKS.md)
) error {
	o := bench.Options{Environ: facts().Environ}
	if runs != nil {
		o.Runs = *runs
	}
	if size != nil {
		o.PackSize = int64(*size) << 20
	}
	return bench.Write(ctx, o, or(out, "BENCHMARKS.md"))
}
