//go:build !linux

package bench

import "time"

// The machine's load and the CPU time of the process tree are read from
// /proc, which only Linux has: elsewhere they are reported as zero and the
// report says the load was not measured.

func childrenCPU() time.Duration { return 0 }

type cpuSample struct {
	busy, total uint64
	tree        time.Duration
}

func sampleCPU() cpuSample { return cpuSample{} }

const tick = 10 * time.Millisecond
