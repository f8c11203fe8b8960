package artifact

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/agent-facets/release/platforms"
)

// builtTargets are the targets a hello-world Go binary is built for (with
// the target's GOAMD64, so x64 builds record AVX2 or baseline); the musl
// targets share their static binaries.
var builtTargets = []string{"linux-arm64", "linux-x64", "linux-x64-baseline", "darwin-arm64", "darwin-x64", "darwin-x64-baseline", "windows-arm64", "windows-x64", "windows-x64-baseline"}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// binaries builds a static hello-world for each of builtTargets once per test
// run and returns target name -> path.
func binaries(t *testing.T) map[string]string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "artifact-test-")
		if buildErr != nil {
			return
		}
		src := filepath.Join(buildDir, "hello.go")
		if buildErr = os.WriteFile(src, []byte("package main\n\nfunc main() { println(\"hello\") }\n"), 0o644); buildErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		g, ctx := errgroup.WithContext(ctx)
		g.SetLimit(3)
		for _, name := range builtTargets {
			tgt, err := platforms.Lookup(name)
			if err != nil {
				buildErr = err
				return
			}
			out := filepath.Join(buildDir, name, tgt.BinaryName("facet"))
			g.Go(func() error {
				cmd := exec.CommandContext(ctx, goTool, "build", "-trimpath", "-ldflags=-s -w", "-o", out, src)
				cmd.Dir = buildDir
				cmd.Env = append(append(os.Environ(), "GOFLAGS=", "GOWORK=off"), tgt.GoEnv()...)
				if b, err := cmd.CombinedOutput(); err != nil {
					return fmt.Errorf("go build for %s: %v\n%s", name, err, b)
				}
				return nil
			})
		}
		buildErr = g.Wait()
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	out := map[string]string{}
	for _, name := range builtTargets {
		tgt, _ := platforms.Lookup(name)
		out[name] = filepath.Join(buildDir, name, tgt.BinaryName("facet"))
	}
	return out
}

// check is Check with no build command, as a caller that does not know it.
func check(p string, t platforms.Target) error {
	_, err := Check(p, t, Build{})
	return err
}

// TestCheckMatrix checks every built binary against every target: it is
// accepted exactly where OS, CPU and, on x64, the AVX2 or baseline build
// match (a static Linux binary serves both libcs).
func TestCheckMatrix(t *testing.T) {
	bins := binaries(t)
	for _, built := range builtTargets {
		bt, _ := platforms.Lookup(built)
		for _, tgt := range platforms.Table {
			t.Run(built+"/as/"+tgt.Name, func(t *testing.T) {
				p := bins[built]
				if tgt.OS == "win32" && bt.OS != "win32" {
					// Give it the right name so the format is what fails.
					p = copyFile(t, p, "facet.exe", 0o755)
				}
				res, err := Check(p, tgt, Build{})
				platform := bt.OS == tgt.OS && bt.CPU == tgt.CPU
				if platform && bt.Baseline == tgt.Baseline {
					if err != nil {
						t.Fatalf("Check = %v, want nil", err)
					}
					if len(res.Notes) != 0 {
						t.Errorf("notes %q for a Go build that records GOAMD64", res.Notes)
					}
					return
				}
				if err == nil {
					t.Fatal("Check accepted a binary for another platform")
				}
				msg := err.Error()
				parts := []string{"artifact " + p + ": is ", "rebuild it for target " + tgt.Name}
				switch {
				case !platform:
					parts = append(parts, "but target "+tgt.Name+" needs "+formatFor(tgt)+" "+archName(tgt.CPU))
				case bt.Baseline:
					parts = append(parts, "is a baseline build (built by "+runtime.Version()+" with GOAMD64=v1) but target "+tgt.Name+" is the AVX2 build")
				default:
					parts = append(parts, "is an AVX2 build (built by "+runtime.Version()+" with GOAMD64=v3) but target "+tgt.Name+" is for CPUs without AVX2")
				}
				for _, part := range parts {
					if !strings.Contains(msg, part) {
						t.Errorf("error %q lacks %q", msg, part)
					}
				}
			})
		}
	}
}

func TestCheckMessages(t *testing.T) {
	bins := binaries(t)
	tests := []struct {
		bin, target, want string
	}{
		{"darwin-arm64", "linux-x64", "is a Mach-O arm64 binary but target linux-x64 needs ELF x86-64; rebuild it for target linux-x64"},
		{"linux-x64", "darwin-arm64", "is an ELF x86-64 (static) binary but target darwin-arm64 needs Mach-O arm64; rebuild it for target darwin-arm64"},
		{"windows-arm64", "windows-x64-baseline", "is a PE arm64 binary but target windows-x64-baseline needs PE x86-64; rebuild it for target windows-x64-baseline"},
		{"linux-arm64", "linux-x64-musl", "is an ELF arm64 (static) binary but target linux-x64-musl needs ELF x86-64; rebuild it for target linux-x64-musl"},
		{"linux-x64-baseline", "linux-x64-musl", "is a baseline build (built by " + runtime.Version() + " with GOAMD64=v1) but target linux-x64-musl is the AVX2 build, for CPUs with AVX2; the baseline build belongs in linux-x64-baseline-musl; rebuild it for target linux-x64-musl"},
		{"darwin-x64", "darwin-x64-baseline", "is an AVX2 build (built by " + runtime.Version() + " with GOAMD64=v3) but target darwin-x64-baseline is for CPUs without AVX2, where it would stop with an illegal instruction; rebuild it for target darwin-x64-baseline"},
	}
	for _, tt := range tests {
		t.Run(tt.bin+"/"+tt.target, func(t *testing.T) {
			tgt, _ := platforms.Lookup(tt.target)
			err := check(bins[tt.bin], tgt)
			if want := "artifact " + bins[tt.bin] + ": " + tt.want; err == nil || err.Error() != want {
				t.Fatalf("Check = %v\nwant %s", err, want)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	bins := binaries(t)
	gov := runtime.Version()
	v3 := Kind{Build: gov + " GOAMD64=v3", Flavour: AVX2, FlavourSign: "built by " + gov + " with GOAMD64=v3"}
	v1 := Kind{Build: gov + " GOAMD64=v1", Flavour: Baseline, FlavourSign: "built by " + gov + " with GOAMD64=v1"}
	tests := []struct {
		bin    string
		want   Kind
		string string
	}{
		{"linux-x64", Kind{Format: ELF, OS: "linux", Arch: []string{"x64"}, Type: "executable"}, "ELF x86-64 (static)"},
		{"linux-x64-baseline", Kind{Format: ELF, OS: "linux", Arch: []string{"x64"}, Type: "executable"}, "ELF x86-64 (static)"},
		{"linux-arm64", Kind{Format: ELF, OS: "linux", Arch: []string{"arm64"}, Type: "executable", Build: gov}, "ELF arm64 (static)"},
		{"darwin-x64", Kind{Format: MachO, OS: "darwin", Arch: []string{"x64"}, Type: "executable"}, "Mach-O x86-64"},
		{"darwin-arm64", Kind{Format: MachO, OS: "darwin", Arch: []string{"arm64"}, Type: "executable", Build: gov}, "Mach-O arm64"},
		{"windows-x64", Kind{Format: PE, OS: "win32", Arch: []string{"x64"}, Type: "executable"}, "PE x86-64"},
		{"windows-arm64", Kind{Format: PE, OS: "win32", Arch: []string{"arm64"}, Type: "executable", Build: gov}, "PE arm64"},
	}
	for _, tt := range tests {
		t.Run(tt.bin, func(t *testing.T) {
			want := tt.want
			if want.Arch[0] == "x64" {
				flavour := v3
				if strings.HasSuffix(tt.bin, "-baseline") {
					flavour = v1
				}
				want.Build, want.Flavour, want.FlavourSign = flavour.Build, flavour.Flavour, flavour.FlavourSign
			}
			k, err := Describe(bins[tt.bin])
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(k) != fmt.Sprint(want) {
				t.Errorf("Describe = %+v, want %+v", k, want)
			}
			if k.String() != tt.string {
				t.Errorf("String = %q, want %q", k.String(), tt.string)
			}
		})
	}
}

// TestUniversalMachO wraps the darwin builds in fat files.
func TestUniversalMachO(t *testing.T) {
	bins := binaries(t)
	dir := t.TempDir()
	both := writeFat(t, filepath.Join(dir, "both"), bins["darwin-x64"], bins["darwin-arm64"])
	bothBaseline := writeFat(t, filepath.Join(dir, "both-baseline"), bins["darwin-x64-baseline"], bins["darwin-arm64"])
	intelOnly := writeFat(t, filepath.Join(dir, "intel"), bins["darwin-x64"])
	arm, _ := platforms.Lookup("darwin-arm64")
	intel, _ := platforms.Lookup("darwin-x64")
	intelBaseline, _ := platforms.Lookup("darwin-x64-baseline")
	linux, _ := platforms.Lookup("linux-x64")

	if err := check(both, arm); err != nil {
		t.Errorf("universal x64+arm64 for darwin-arm64: %v", err)
	}
	if err := check(both, intel); err != nil {
		t.Errorf("universal x64+arm64 for darwin-x64: %v", err)
	}
	if err := check(bothBaseline, intelBaseline); err != nil {
		t.Errorf("universal x64 (baseline)+arm64 for darwin-x64-baseline: %v", err)
	}
	if err := check(both, intelBaseline); err == nil || !strings.Contains(err.Error(), "is an AVX2 build (built by") {
		t.Errorf("universal x64 (AVX2)+arm64 for darwin-x64-baseline: %v", err)
	}
	k, err := Describe(both)
	if err != nil || k.String() != "Mach-O universal (x86-64, arm64)" {
		t.Errorf("Describe = %q, %v", k, err)
	}
	err = check(intelOnly, arm)
	if want := "is a Mach-O universal (x86-64) binary without arm64, but target darwin-arm64 needs Mach-O arm64"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Check = %v, want %q", err, want)
	}
	if err := check(both, linux); err == nil || !strings.Contains(err.Error(), "needs ELF x86-64") {
		t.Errorf("universal Mach-O for linux-x64: %v", err)
	}
	// A slice cut short inside a complete fat header.
	data, err := os.ReadFile(both)
	if err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, data[:len(data)-4096], 0o755); err != nil {
		t.Fatal(err)
	}
	if err := check(short, arm); err == nil || !strings.Contains(err.Error(), "truncated: the arm64 slice ") {
		t.Errorf("fat file missing its last 4 KiB: %v", err)
	}
}

// TestLibc checks a dynamically linked glibc binary of this machine and a
// copy whose loader path is rewritten to musl's.
func TestLibc(t *testing.T) {
	glibcBin, glibcTarget, muslTarget := hostDynamicBinary(t)
	muslBin := rewriteInterp(t, glibcBin, "/lib/ld-musl-"+muslArch(muslTarget)+".so.1")
	unknownBin := rewriteInterp(t, glibcBin, "/lib/ld-other.so")

	k, err := Describe(glibcBin)
	if err != nil || k.Libc != platforms.Glibc || !strings.HasPrefix(k.Interpreter, "/lib") {
		t.Fatalf("Describe(%s) = %+v, %v; want a glibc interpreter", glibcBin, k, err)
	}
	tests := []struct {
		name   string
		bin    string
		target platforms.Target
		want   string // "" = accepted
	}{
		{"glibc for glibc", glibcBin, glibcTarget, ""},
		{"glibc for musl", glibcBin, muslTarget, fmt.Sprintf("built for glibc (interpreter %s) but target %s needs musl; rebuild it for target %s", k.Interpreter, muslTarget.Name, muslTarget.Name)},
		{"musl for musl", muslBin, muslTarget, ""},
		{"musl for glibc", muslBin, glibcTarget, fmt.Sprintf("built for musl (interpreter /lib/ld-musl-%s.so.1) but target %s needs glibc; rebuild it for target %s", muslArch(muslTarget), glibcTarget.Name, glibcTarget.Name)},
		{"unknown loader", unknownBin, glibcTarget, "unknown dynamic loader /lib/ld-other.so"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Check(tt.bin, tt.target, Build{})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Check = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Check = %v\nwant it to contain %q", err, tt.want)
			}
			// A C binary of this machine has no build stamp: on x64 the
			// check says it could not tell AVX2 from baseline.
			if err == nil && tt.target.CPU == "x64" {
				want := "artifact " + tt.bin + ": cannot tell whether it is an AVX2 or a baseline build: nothing in the binary says (it has neither Bun's version string nor Go's build information); make sure it is the build for target " + tt.target.Name + " (CPUs with AVX2)"
				if len(res.Notes) != 1 || res.Notes[0] != want {
					t.Errorf("notes = %q\nwant [%q]", res.Notes, want)
				}
			}
		})
	}
}

func TestCheckFileProblems(t *testing.T) {
	bins := binaries(t)
	dir := t.TempDir()
	linuxX64, _ := platforms.Lookup("linux-x64")
	winX64, _ := platforms.Lookup("windows-x64")
	script := filepath.Join(dir, "facet.sh")
	os.WriteFile(script, []byte("#!/bin/sh\necho hi\n"), 0o755)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o755)
	garbage := filepath.Join(dir, "garbage")
	os.WriteFile(garbage, []byte{0x7f, 'E', 'L', 'F', 2, 1, 1}, 0o755)
	tests := []struct {
		name   string
		path   string
		target platforms.Target
		want   string // "" = accepted
	}{
		{"missing", filepath.Join(dir, "dist", "facet"), linuxX64, "not found; build target linux-x64 first"},
		{"directory", dir, linuxX64, "not a regular file (a directory)"},
		{"empty", empty, linuxX64, "the file is empty; the build did not finish: rebuild it for target linux-x64"},
		{"not executable", copyFile(t, bins["linux-x64"], "facet", 0o644), linuxX64, "not executable (mode 0644); run chmod +x"},
		{"windows needs no x bit", copyFile(t, bins["windows-x64"], "facet.exe", 0o644), winX64, ""},
		{"windows without .exe", copyFile(t, bins["windows-x64"], "facet", 0o644), winX64, "needs a .exe name; rename it to facet.exe"},
		// The wrong format is the problem, not the missing x bit.
		{"windows binary for linux", copyFile(t, bins["windows-x64"], "facet", 0o644), linuxX64, "is a PE x86-64 binary but target linux-x64 needs ELF x86-64; rebuild it for target linux-x64"},
		{"script", script, linuxX64, `not a native binary (starts with "#!/bin/sh")`},
		{"truncated ELF", garbage, linuxX64, "truncated: the ELF header ends at byte 16 but the file has only 7 bytes: the file is incomplete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := check(tt.path, tt.target)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Check = %v, want nil", err)
			case tt.want != "" && err == nil:
				t.Fatalf("Check accepted %s", tt.path)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("Check = %v\nwant it to contain %q", err, tt.want)
			case tt.want != "" && !strings.HasPrefix(err.Error(), "artifact "+tt.path+": "):
				t.Fatalf("error %q does not start by naming the file", err)
			case strings.Contains(tt.want, "needs ELF") && strings.Contains(err.Error(), "chmod"):
				t.Fatalf("error %q talks about chmod before the format", err)
			}
		})
	}
}

// TestStampsOnlyFromTheRuntime: Bun's strings count only in the runtime's
// read-only data, not in data appended after it (where Bun puts a compiled
// application, which could print anything).
func TestStampsOnlyFromTheRuntime(t *testing.T) {
	bin, glibcTarget, _ := hostDynamicBinary(t)
	if glibcTarget.CPU != "x64" {
		t.Skip("flavours are an x64 matter")
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "facet")
	b = append(b, "\x00Bun v1.3.14 (Linux x64 baseline)\x00"+string(bunAVXWarning)+"\x00"...)
	if err := os.WriteFile(p, b, 0o755); err != nil {
		t.Fatal(err)
	}
	res, err := Check(p, glibcTarget, Build{})
	if err != nil {
		t.Fatalf("Check = %v, want nil", err)
	}
	if res.Kind.Build != "" || len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "nothing in the binary says") {
		t.Errorf("Kind %+v, notes %q: want no build stamp and the note saying so", res.Kind, res.Notes)
	}
}

// TestAdviceNamesTheBuildCommand: advice quotes release.json's build
// command, whatever tool it runs, and never Bun's when Bun does not build.
func TestAdviceNamesTheBuildCommand(t *testing.T) {
	bins := binaries(t)
	linuxX64, _ := platforms.Lookup("linux-x64")
	goBuild := Build{Command: []string{"go", "build", "-ldflags", "-X main.version={version}", "-o", "{out}", "./cmd/{binary}"}, Config: "/repo/release.json"}
	bunBuild := Build{Command: []string{"bun", "build", "--compile", "--target={bunTarget}", "--outfile", "{out}", "{entry}"}, Config: "/repo/release.json"}
	wrong := copyFile(t, bins["windows-x64"], "facet", 0o644)
	missing := filepath.Join(t.TempDir(), "facet")
	tests := []struct {
		name  string
		path  string
		build Build
		want  string
	}{
		{"go, wrong format", wrong, goBuild,
			"is a PE x86-64 binary but target linux-x64 needs ELF x86-64; rebuild it: `go tool mage build -target=linux-x64` runs build.command from /repo/release.json (`go build -ldflags \"-X main.version={version}\" -o " + wrong + " ./cmd/facet`)"},
		{"go, just built", wrong, Build{Command: goBuild.Command, Config: goBuild.Config, Ran: true},
			"needs ELF x86-64; check build.command in /repo/release.json: `go build -ldflags \"-X main.version={version}\" -o " + wrong + " ./cmd/facet` made it for target linux-x64"},
		{"go, missing", missing, goBuild,
			"not found; build target linux-x64 first: `go tool mage build -target=linux-x64` runs build.command from /repo/release.json (`go build -ldflags \"-X main.version={version}\" -o " + missing + " ./cmd/facet`)"},
		{"go, not written", missing, Build{Command: goBuild.Command, Config: goBuild.Config, Ran: true},
			"not found: build.command in /repo/release.json (`go build -ldflags \"-X main.version={version}\" -o " + missing + " ./cmd/facet`) did not write it"},
		{"bun, wrong format", wrong, bunBuild,
			"rebuild it: `go tool mage build -target=linux-x64` runs build.command from /repo/release.json (`bun build --compile --target=bun-linux-x64 --outfile " + wrong + " {entry}`)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Check(tt.path, linuxX64, tt.build)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Check = %v\nwant it to contain %q", err, tt.want)
			}
			if tt.build.Command[0] == "go" && strings.Contains(err.Error(), "bun") {
				t.Errorf("advice names Bun though Go builds: %v", err)
			}
		})
	}
}

// TestTruncatedGoBinaries cuts the hello-world builds short: each copy
// whose headers point past its end is refused, naming what is missing.
func TestTruncatedGoBinaries(t *testing.T) {
	bins := binaries(t)
	for _, built := range []string{"linux-x64", "linux-arm64", "darwin-arm64", "darwin-x64", "windows-x64"} {
		tgt, _ := platforms.Lookup(built)
		full, err := os.ReadFile(bins[built])
		if err != nil {
			t.Fatal(err)
		}
		for _, keep := range []int{len(full) - 4096, len(full) / 2, 4096, 200, 20} {
			t.Run(fmt.Sprintf("%s/%d", built, keep), func(t *testing.T) {
				p := filepath.Join(t.TempDir(), tgt.BinaryName("facet"))
				if err := os.WriteFile(p, full[:keep], 0o755); err != nil {
					t.Fatal(err)
				}
				err := check(p, tgt)
				want := fmt.Sprintf("artifact %s: truncated: ", p)
				if err == nil || !strings.HasPrefix(err.Error(), want) ||
					!strings.Contains(err.Error(), fmt.Sprintf(" but the file has only %d bytes: the file is incomplete (an interrupted build, copy or download); rebuild it for target %s", keep, built)) {
					t.Fatalf("Check = %v\nwant a truncation error", err)
				}
			})
		}
	}
}

func copyFile(t *testing.T, src, name string, mode os.FileMode) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(dst, b, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dst, mode); err != nil {
		t.Fatal(err)
	}
	return dst
}

// writeFat writes a universal Mach-O holding the given thin binaries.
func writeFat(t *testing.T, dst string, thin ...string) string {
	t.Helper()
	const align = 14 // 16 KiB, as Apple's lipo uses for arm64
	var hdr bytes.Buffer
	binary.Write(&hdr, binary.BigEndian, []uint32{0xcafebabe, uint32(len(thin))})
	var bodies [][]byte
	offset := uint32(1 << align)
	for _, p := range thin {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		cpu := binary.LittleEndian.Uint32(b[4:8])
		sub := binary.LittleEndian.Uint32(b[8:12])
		binary.Write(&hdr, binary.BigEndian, []uint32{cpu, sub, offset, uint32(len(b)), align})
		bodies = append(bodies, b)
		offset += (uint32(len(b)) + 1<<align - 1) &^ (1<<align - 1)
	}
	out := hdr.Bytes()
	for _, b := range bodies {
		out = append(out, make([]byte, (len(out)+1<<align-1)&^(1<<align-1)-len(out))...)
		out = append(out, b...)
	}
	if err := os.WriteFile(dst, out, 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}

// hostDynamicBinary finds a dynamically linked glibc executable on this
// machine and the glibc and musl targets for its architecture.
func hostDynamicBinary(t *testing.T) (string, platforms.Target, platforms.Target) {
	t.Helper()
	for _, p := range []string{"/bin/true", "/usr/bin/true", "/bin/ls", "/usr/bin/ls"} {
		f, err := elf.Open(p)
		if err != nil {
			continue
		}
		machine := f.Machine
		var interp bool
		for _, prog := range f.Progs {
			interp = interp || prog.Type == elf.PT_INTERP
		}
		f.Close()
		if !interp {
			continue
		}
		var cpu string
		switch machine {
		case elf.EM_X86_64:
			cpu = "x64"
		case elf.EM_AARCH64:
			cpu = "arm64"
		default:
			continue
		}
		g, _ := platforms.Lookup("linux-" + cpu)
		m, _ := platforms.Lookup("linux-" + cpu + "-musl")
		k, err := Describe(p)
		if err != nil || k.Libc != platforms.Glibc {
			continue
		}
		return p, g, m
	}
	t.Skip("no dynamically linked glibc executable on this machine")
	return "", platforms.Target{}, platforms.Target{}
}

func muslArch(t platforms.Target) string {
	if t.CPU == "x64" {
		return "x86_64"
	}
	return "aarch64"
}

// rewriteInterp copies an ELF executable and overwrites its PT_INTERP string
// in place with interp, padded with NULs.
func rewriteInterp(t *testing.T, src, interp string) string {
	t.Helper()
	f, err := elf.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type != elf.PT_INTERP {
			continue
		}
		if uint64(len(interp)) >= prog.Filesz {
			t.Skipf("%s's interpreter field (%d bytes) is too short for %q", src, prog.Filesz, interp)
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		field := b[prog.Off : prog.Off+prog.Filesz]
		copy(field, interp)
		clear(field[len(interp):])
		dst := filepath.Join(t.TempDir(), "facet")
		if err := os.WriteFile(dst, b, 0o755); err != nil {
			t.Fatal(err)
		}
		return dst
	}
	t.Fatalf("%s has no PT_INTERP", src)
	return ""
}
