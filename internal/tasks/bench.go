package tasks

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/agent-facets/release/internal/bench"
)

// Bench measures the toolkit against the npm CLI doing the same work and writes BENCHMARKS.md.
//
// Against throwaway local registries (nothing is published anywhere else)
// it runs four pairs, alternately and several times, and reports medians,
// ratios, the goals and what bounds a missed one: the registry state of a
// release (the toolkit's check vs `npm view` per package vs plain HTTP
// GETs), packing a platform package whose binary is a real Bun runtime
// (internal/tarball vs `npm pack` vs `bun pm pack` with the pinned Bun:
// time, CPU, size, peak memory; and a synthetic binary), verification
// latency for versions the registry serves only after 5, 30 and 90 s, and a
// whole release (vs sequential `npm publish` + `npm view`). Then it costs
// one release in the CircleCI pipeline, as committed before the pipeline
// rework and as generated now: per job the bytes it attaches, persists and
// caches, with the real sizes, and the toolkit's own start, measured cold
// (empty Go build and Mage caches) and warm.
//
// The real payload (@oven/bun-linux-x64 at the pinned Bun version, its
// integrity checked) and the pinned Bun are fetched with npm into the
// user's cache directory on first use. The full run takes several minutes
// (BENCHMARKS.md says how long the last one took) and needs Go, Node.js and
// npm. The flags shorten a run, for trying it out; the report says when a
// run was shortened.
//
// Example: go tool mage bench
// Example: go tool mage bench -runs=1 -releaseRuns=1 -coldRuns=1 -size=0 -delays=2s -out=/tmp/b.md
func Bench(ctx context.Context,
	runs *int, // runs of the state and packing pairs and of the compiled toolkit's start (default 5)
	releaseRuns *int, // runs of the whole-release pair (default 3)
	coldRuns *int, // toolkit starts with empty Go build and Mage caches, each a full compilation (default 3)
	size *int, // MiB of the synthetic binary packed beside the real one (default 100; 0 leaves it out)
	delays *string, // the verification delays, comma-separated (default 5s,30s,90s)
	out *string, // where to write the report (default BENCHMARKS.md)
) error {
	o := bench.Options{Environ: facts().Environ}
	command := []string{"go tool mage bench"}
	if runs != nil {
		o.Runs = *runs
		command = append(command, fmt.Sprintf("-runs=%d", *runs))
	}
	if releaseRuns != nil {
		o.ReleaseRuns = *releaseRuns
		command = append(command, fmt.Sprintf("-releaseRuns=%d", *releaseRuns))
	}
	if coldRuns != nil {
		o.ColdRuns = *coldRuns
		command = append(command, fmt.Sprintf("-coldRuns=%d", *coldRuns))
	}
	if size != nil {
		if *size < 0 {
			return fmt.Errorf("bench: -size=%d: give the synthetic binary's size in MiB, or 0 to leave it out", *size)
		}
		o.PackSize, o.SkipSynthetic = int64(*size)<<20, *size == 0
		command = append(command, fmt.Sprintf("-size=%d", *size))
	}
	if delays != nil {
		for _, d := range strings.Split(*delays, ",") {
			v, err := time.ParseDuration(strings.TrimSpace(d))
			if err != nil || v <= 0 {
				return fmt.Errorf("bench: -delays=%s: %q is not a positive duration such as 5s or 1m30s", *delays, d)
			}
			o.Visibility = append(o.Visibility, v)
		}
		command = append(command, "-delays="+*delays)
	}
	if out != nil {
		command = append(command, "-out="+*out)
	}
	o.Command = strings.Join(command, " ")
	return bench.Write(ctx, o, or(out, "BENCHMARKS.md"))
}
