//go:build mage

package main

import (
	"context"

	"github.com/agent-facets/release/internal/bench"
)

// Bench measures the toolkit against the npm CLI doing the same work and writes BENCHMARKS.md.
//
// Against throwaway local registries (nothing leaves this machine) it runs
// four pairs, alternately and several times, and reports medians, ratios,
// the goals and what bounds a missed one: the registry state of a release
// (the toolkit's check vs `npm view` per package vs plain HTTP GETs), packing
// a platform package with a 100 MiB binary (internal/tarball vs `npm pack`:
// time, size, peak memory), verification latency for versions the registry
// serves only after 5, 30 and 90 s, and a whole release (vs sequential
// `npm publish` + `npm view`). It takes about five minutes on two CPUs
// (more on first use, which installs Verdaccio and compiles the demo CLI)
// and needs Go, Node.js and npm.
//
// Flags:
//
//	-runs=5              runs of the state and packing pairs
//	-size=100            MiB of the packed binary
//	-out=BENCHMARKS.md   where to write the report
//
// Example: go tool mage bench
func Bench(ctx context.Context, runs, size *int, out *string) error {
	o := bench.Options{}
	if runs != nil {
		o.Runs = *runs
	}
	if size != nil {
		o.PackSize = int64(*size) << 20
	}
	return bench.Write(ctx, o, orDefault(out, "BENCHMARKS.md"))
}
