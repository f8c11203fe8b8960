package artifact

import (
	"bytes"
	"debug/buildinfo"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Flavours of an x64 build, in Kind.Flavour.
const (
	// AVX2 is a build that needs AVX2 (Bun's default x64 build, Go's
	// GOAMD64=v3 or v4).
	AVX2 = "avx2"
	// Baseline is a build for x64 CPUs without AVX2 (Bun's -baseline
	// build, Go's GOAMD64=v1 or v2).
	Baseline = "baseline"
)

// bunVersion matches the version string Bun's runtime carries, such as
// "Bun v1.3.14 (Linux x64 baseline)": a baseline build says "baseline"
// after the architecture, an AVX2 build says nothing there.
var bunVersion = regexp.MustCompile(`Bun v[0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z.]+)? \((?:Linux|macOS|Windows|FreeBSD|Android) [0-9A-Za-z_]+( baseline)?\)`)

// bunAVXWarning is what Bun's AVX2 builds for Linux and macOS print on a CPU
// without AVX. Its baseline builds leave it out; its Windows builds and the
// 1.4 builds do not have it at all.
var bunAVXWarning = []byte("warn: CPU lacks AVX support, strange crashes may occur. Reinstall Bun or use *-baseline build")

// stamp reads what a thin binary says about how it was built: Go's build
// information, or else Bun's version string and AVX warning in rodata, the
// read-only data sections of its runtime (not the bundled application,
// which could hold any text). It fills k.Build, k.Flavour and k.FlavourSign.
func stamp(k *Kind, r io.ReaderAt, rodata []*io.SectionReader) {
	if bi, err := buildinfo.Read(r); err == nil {
		settings := map[string]string{}
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
		k.Build = bi.GoVersion
		if level := settings["GOAMD64"]; settings["GOARCH"] == "amd64" && level != "" {
			k.Build += " GOAMD64=" + level
			k.FlavourSign = "built by " + bi.GoVersion + " with GOAMD64=" + level
			switch level {
			case "v1", "v2":
				k.Flavour = Baseline
			default:
				k.Flavour = AVX2
			}
		}
		return
	}
	var versions []string
	var warns bool
	for _, sr := range rodata {
		scan(sr, func(chunk []byte) {
			for _, m := range bunVersion.FindAll(chunk, -1) {
				if !contains(versions, string(m)) {
					versions = append(versions, string(m))
				}
			}
			warns = warns || bytes.Contains(chunk, bunAVXWarning)
		})
	}
	if len(versions) == 0 {
		return
	}
	k.Build = versions[0]
	for _, v := range versions {
		if strings.HasSuffix(v, " baseline)") {
			k.Build = v
			k.Flavour = Baseline
			k.FlavourSign = fmt.Sprintf("its Bun version string says %q", v)
			return
		}
	}
	if warns {
		k.Flavour = AVX2
		k.FlavourSign = fmt.Sprintf("%s carries the warning for CPUs without AVX that only Bun's AVX2 builds have", k.Build)
	}
}

// scan calls fn on the contents of sr in chunks that overlap, so that no
// string shorter than the overlap is split between two chunks.
func scan(sr *io.SectionReader, fn func([]byte)) {
	const chunk, overlap = 1 << 20, 256
	buf := make([]byte, chunk+overlap)
	var off int64
	for {
		n, err := sr.ReadAt(buf, off)
		if n > 0 {
			fn(buf[:n])
		}
		if err != nil || n < len(buf) {
			return
		}
		off += chunk
	}
}
