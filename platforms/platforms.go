// Package platforms is the single source of truth for the native targets the
// agent-facets CLI ships to: their npm os/cpu/libc fields, the Bun and Go
// build settings that produce each binary, and which target this machine is.
// Every package.json, CI matrix and launcher table is generated from Table.
package platforms

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"golang.org/x/sys/cpu"
)

// Libc values npm matches against the detected C library (npm 10.4+).
const (
	Glibc = "glibc"
	Musl  = "musl"
)

// Target is one native build of the CLI and the npm package that carries it.
type Target struct {
	// Name is the target's identifier, e.g. "linux-x64-baseline-musl".
	Name string `json:"name"`
	// OS is npm's "os" value (process.platform): linux, darwin, win32.
	OS string `json:"os"`
	// CPU is npm's "cpu" value (process.arch): x64, arm64.
	CPU string `json:"cpu"`
	// Libc is npm's "libc" value, set on Linux targets only.
	Libc string `json:"libc,omitempty"`
	// Baseline marks an x64 build that runs without AVX2.
	Baseline bool `json:"baseline,omitempty"`
	// BunTarget is the --target value for `bun build --compile`.
	BunTarget string `json:"bunTarget"`
	// GOOS, GOARCH and GOAMD64 build an equivalent Go binary.
	GOOS    string `json:"goos"`
	GOARCH  string `json:"goarch"`
	GOAMD64 string `json:"goamd64,omitempty"`
}

// Table lists every supported target. Order is stable and meaningful: within a
// platform and architecture, the preferred build comes before its fallbacks.
var Table = []Target{
	linux("arm64", false, Glibc),
	linux("x64", false, Glibc),
	linux("x64", true, Glibc),
	linux("arm64", false, Musl),
	linux("x64", false, Musl),
	linux("x64", true, Musl),
	other("darwin", "darwin", "arm64", false),
	other("darwin", "darwin", "x64", false),
	other("darwin", "darwin", "x64", true),
	other("windows", "win32", "arm64", false),
	other("windows", "win32", "x64", false),
	other("windows", "win32", "x64", true),
}

func linux(arch string, baseline bool, libc string) Target {
	t := other("linux", "linux", arch, baseline)
	t.Libc = libc
	if libc == Musl {
		t.Name += "-musl"
		t.BunTarget += "-musl"
	}
	return t
}

func other(name, npmOS, arch string, baseline bool) Target {
	t := Target{Name: name + "-" + arch, OS: npmOS, CPU: arch, Baseline: baseline, GOOS: name}
	switch arch {
	case "x64":
		t.GOARCH = "amd64"
		t.GOAMD64 = "v3"
		if baseline {
			t.GOAMD64 = "v1"
		}
	default:
		t.GOARCH = arch
	}
	if baseline {
		t.Name += "-baseline"
	}
	t.BunTarget = "bun-" + t.Name
	return t
}

// BinaryName is the file name of the CLI binary for this target: name plus
// ".exe" on Windows.
func (t Target) BinaryName(name string) string {
	if t.OS == "win32" {
		return name + ".exe"
	}
	return name
}

// Musl reports whether the target links against musl libc.
func (t Target) Musl() bool { return t.Libc == Musl }

// GoEnv is the environment that makes `go build` produce this target's binary.
func (t Target) GoEnv() []string {
	env := []string{"CGO_ENABLED=0", "GOOS=" + t.GOOS, "GOARCH=" + t.GOARCH}
	if t.GOAMD64 != "" {
		env = append(env, "GOAMD64="+t.GOAMD64)
	}
	return env
}

// Lookup returns the target with the given name, or an error listing the
// valid names.
func Lookup(name string) (Target, error) {
	for _, t := range Table {
		if t.Name == name {
			return t, nil
		}
	}
	return Target{}, fmt.Errorf("unknown target %q: use one of %s", name, strings.Join(Names(), ", "))
}

// Names returns every target name in table order.
func Names() []string {
	names := make([]string, len(Table))
	for i, t := range Table {
		names[i] = t.Name
	}
	return names
}

// SortedNames returns every target name in lexical order.
func SortedNames() []string {
	n := Names()
	sort.Strings(n)
	return n
}

// Host describes the machine a process runs on, in the terms npm and the
// launcher use to choose a package.
type Host struct {
	OS   string // npm os: linux, darwin, win32
	CPU  string // npm cpu: x64, arm64
	Libc string // glibc or musl on Linux; empty elsewhere
	AVX2 bool   // meaningful on x64 only
}

// DetectHost reports this machine's platform, architecture, C library and
// AVX2 support.
func DetectHost() Host {
	h := Host{OS: runtime.GOOS, CPU: runtime.GOARCH}
	switch h.OS {
	case "windows":
		h.OS = "win32"
	}
	switch h.CPU {
	case "amd64":
		h.CPU = "x64"
		h.AVX2 = cpu.X86.HasAVX2
	}
	if h.OS == "linux" {
		h.Libc = detectLibc()
	}
	return h
}

func detectLibc() string {
	for _, pattern := range []string{"/lib/ld-musl-*.so.1", "/usr/lib/ld-musl-*.so.1"} {
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			// A glibc system may carry musl's loader too; prefer glibc's when present.
			if g, _ := filepath.Glob("/lib*/ld-linux*.so.*"); len(g) == 0 {
				return Musl
			}
		}
	}
	if _, err := os.Stat("/etc/alpine-release"); err == nil {
		return Musl
	}
	return Glibc
}

// Candidates returns the targets that can run on h, best first: the
// full-speed build, then the baseline build on x64.
func (h Host) Candidates() []Target {
	var out []Target
	for _, t := range Table {
		if t.OS != h.OS || t.CPU != h.CPU || t.Libc != h.Libc {
			continue
		}
		out = append(out, t)
	}
	sort.SliceStable(out, func(i, j int) bool {
		// Without AVX2 the baseline build goes first; with it, last.
		return out[i].Baseline == !h.AVX2 && out[j].Baseline == h.AVX2
	})
	return out
}

// Current returns the best target for this machine, or an error naming the
// platform when none matches.
func Current() (Target, error) {
	h := DetectHost()
	c := h.Candidates()
	if len(c) == 0 {
		return Target{}, fmt.Errorf("no target for this machine (%s/%s %s): supported targets are %s", h.OS, h.CPU, h.Libc, strings.Join(Names(), ", "))
	}
	return c[0], nil
}

// Columns and Rows are the table for people: one row per target, the one
// this machine runs marked.
var Columns = []string{"target", "os", "cpu", "libc", "bun target", "go", ""}

// Rows returns the platform table's rows (see Columns).
func Rows() [][]string {
	cur, curErr := Current()
	rows := [][]string{}
	for _, t := range Table {
		mark := ""
		if curErr == nil && t.Name == cur.Name {
			mark = "← this machine"
		}
		rows = append(rows, []string{t.Name, t.OS, t.CPU, t.Libc, t.BunTarget, strings.TrimSpace(t.GOOS + "/" + t.GOARCH + " " + t.GOAMD64), mark})
	}
	return rows
}
