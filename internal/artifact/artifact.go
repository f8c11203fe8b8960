// Package artifact checks a built CLI binary against the platform target it
// is about to be published for: that it exists, is an ELF, Mach-O or PE
// binary of the target's OS, architecture and C library, is complete (no
// header points past its end), is the AVX2 or baseline build the target
// needs where the binary says which, and is executable. It catches a binary
// copied into the wrong platform package, or cut short, before npm users
// download it.
package artifact

import (
	"bytes"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/agent-facets/release/platforms"
)

// Binary formats reported in Kind.Format.
const (
	ELF   = "ELF"
	MachO = "Mach-O"
	PE    = "PE"
)

// Kind describes what a binary was built for.
type Kind struct {
	// Format is ELF, Mach-O or PE.
	Format string `json:"format"`
	// OS is npm's os value the format and header point to: linux, darwin,
	// win32, or another name (freebsd, ...) for ELF files marked for it.
	OS string `json:"os"`
	// Arch lists npm cpu values (x64, arm64, ia32, arm, ...): one for a plain
	// binary, each slice's for a universal (fat) Mach-O.
	Arch []string `json:"arch"`
	// Universal marks a fat Mach-O holding several architectures.
	Universal bool `json:"universal,omitempty"`
	// Interpreter is an ELF binary's dynamic loader (PT_INTERP); empty for a
	// statically linked binary.
	Interpreter string `json:"interpreter,omitempty"`
	// Libc is glibc or musl when the interpreter names one; empty otherwise.
	Libc string `json:"libc,omitempty"`
	// Type is "executable", or what else the file is: "shared library",
	// "object file", "core dump".
	Type string `json:"type"`
	// Build is what the binary says about how it was built, when it says:
	// Bun's version string ("Bun v1.3.14 (Linux x64 baseline)") or the Go
	// version and, on x64, GOAMD64 ("go1.26.8 GOAMD64=v3").
	Build string `json:"build,omitempty"`
	// Flavour is AVX2 or Baseline for an x64 binary that says which it is,
	// and empty when nothing in it tells them apart.
	Flavour string `json:"flavour,omitempty"`
	// FlavourSign is what in the binary gave its flavour away.
	FlavourSign string `json:"flavourSign,omitempty"`
}

// String describes the binary for messages, e.g. "ELF x86-64 (interpreter
// /lib64/ld-linux-x86-64.so.2)" or "Mach-O universal (x86-64, arm64)".
func (k Kind) String() string {
	archs := make([]string, len(k.Arch))
	for i, a := range k.Arch {
		archs[i] = archName(a)
	}
	var s string
	if k.Universal {
		s = fmt.Sprintf("%s universal (%s)", k.Format, strings.Join(archs, ", "))
	} else {
		s = k.Format + " " + strings.Join(archs, ", ")
	}
	if k.Format == ELF && k.OS != "linux" && k.OS != "" {
		s += " for " + k.OS
	}
	if k.Type != "" && k.Type != "executable" {
		s += " " + k.Type
	}
	if k.Format == ELF && k.Type == "executable" {
		if k.Interpreter != "" {
			s += " (interpreter " + k.Interpreter + ")"
		} else {
			s += " (static)"
		}
	}
	return s
}

// Build is how the binaries are made, for the advice in messages: the
// configured build command (release.json's build.command).
type Build struct {
	// Command is build.command, placeholders and all; empty when unknown.
	Command []string
	// Config is the path of the configuration file that holds it.
	Config string
	// Ran is set right after the command made the binary (the build step):
	// advice then points at the command instead of at running it again.
	Ran bool
}

// render is the command as it builds target t into p: the placeholders the
// target and the path fill in are filled, the others ({version}, {entry},
// ...) stay as configured.
func (b Build) render(p string, t platforms.Target) string {
	r := strings.NewReplacer("{target}", t.Name, "{bunTarget}", t.BunTarget, "{goos}", t.GOOS,
		"{goarch}", t.GOARCH, "{goamd64}", t.GOAMD64, "{out}", p, "{binary}", filepath.Base(p))
	args := make([]string, len(b.Command))
	for i, a := range b.Command {
		a = r.Replace(a)
		if a == "" || strings.ContainsAny(a, " \t\n'") {
			a = strconv.Quote(a)
		}
		args[i] = a
	}
	return strings.Join(args, " ")
}

func (b Build) config() string {
	if b.Config == "" {
		return "release.json"
	}
	return b.Config
}

// advice says how to get a good binary at p for t.
func (b Build) advice(p string, t platforms.Target) string {
	switch {
	case len(b.Command) == 0:
		return "rebuild it for target " + t.Name
	case b.Ran:
		return fmt.Sprintf("check build.command in %s: `%s` made it for target %s", b.config(), b.render(p, t), t.Name)
	}
	return fmt.Sprintf("rebuild it: `go tool mage build -target=%s` runs build.command from %s (`%s`)", t.Name, b.config(), b.render(p, t))
}

// Result is what Check found.
type Result struct {
	Kind Kind
	// Notes are what the check could not confirm, for the caller to print:
	// an x64 binary that does not say whether it is an AVX2 or a baseline
	// build.
	Notes []string
}

// Describe reads the headers of the binary at path and reports its format,
// OS, architecture, for ELF its dynamic loader, and what it says about its
// build. A file whose headers point past its end is an error.
func Describe(p string) (Kind, error) {
	k, short, err := inspect(p)
	if err != nil {
		return Kind{}, err
	}
	if short != nil {
		return k, fmt.Errorf("artifact %s: %v: the file is incomplete; rebuild it", p, short)
	}
	return k, nil
}

// inspect reads what the file at p is. A file whose headers point past its
// end comes back with short set and with as much of its Kind as could be
// read (its Format at least), so that a wrong format is reported first.
func inspect(p string) (Kind, *truncated, error) {
	f, err := os.Open(p)
	if err != nil {
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			err = pathErr.Err
		}
		return Kind{}, nil, fmt.Errorf("artifact %s: %w", p, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Kind{}, nil, fmt.Errorf("artifact %s: %w", p, err)
	}
	size := uint64(st.Size())
	var magic [4]byte
	n, err := io.ReadFull(f, magic[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return Kind{}, nil, fmt.Errorf("artifact %s: %w", p, err)
	}
	if n == 0 {
		return Kind{}, nil, fmt.Errorf("artifact %s: the file is empty; the build did not finish", p)
	}
	var k Kind
	var short *truncated
	switch {
	case bytes.Equal(magic[:n], []byte(elf.ELFMAG)):
		short = elfBounds(f, size)
		k, err = describeELF(f, short == nil)
	case n >= 2 && magic[0] == 'M' && magic[1] == 'Z':
		short = peBounds(f, size)
		k, err = describePE(f, short == nil)
	case n == 4 && isMachO(magic):
		if binary.BigEndian.Uint32(magic[:]) == macho.MagicFat {
			short = fatBounds(f, size)
		} else {
			short = machoBounds(f, size)
		}
		k, err = describeMachO(f, magic, short == nil)
	default:
		return Kind{}, nil, fmt.Errorf("artifact %s: not a native binary (starts with %q); expected an ELF, Mach-O or PE executable: point at the compiled binary, not a script or launcher", p, head(f))
	}
	if err != nil {
		if short != nil {
			// The headers that point past the end are why it cannot be read.
			return Kind{Format: formatOf(magic, n)}, short, nil
		}
		return Kind{}, nil, fmt.Errorf("artifact %s: %w", p, err)
	}
	return k, short, nil
}

func formatOf(magic [4]byte, n int) string {
	switch {
	case bytes.Equal(magic[:n], []byte(elf.ELFMAG)):
		return ELF
	case magic[0] == 'M' && magic[1] == 'Z':
		return PE
	}
	return MachO
}

// Check verifies that the file at path is a binary that runs on target t,
// and reports the first problem it finds, the most basic first: it exists
// and is a non-empty regular file; it is an executable of the target's
// format, OS and architecture (and C library, for a dynamically linked ELF
// binary); no header points past the file's end; on x64, it is the AVX2 or
// the baseline build the target needs, where the binary says which (Bun's
// version string and AVX warning, Go's GOAMD64), with a note in the Result
// where it does not; a Windows binary has a .exe name; and the file is
// executable (Windows targets are exempt). Errors name the file and what to
// do, with b's build command.
func Check(p string, t platforms.Target, b Build) (Result, error) {
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		if b.Ran {
			return Result{}, fmt.Errorf("artifact %s: not found: build.command in %s (`%s`) did not write it; make it write its output to {out}", p, b.config(), b.render(p, t))
		}
		if len(b.Command) == 0 {
			return Result{}, fmt.Errorf("artifact %s: not found; build target %s first", p, t.Name)
		}
		return Result{}, fmt.Errorf("artifact %s: not found; build target %s first: %s", p, t.Name, strings.TrimPrefix(b.advice(p, t), "rebuild it: "))
	}
	if err != nil {
		return Result{}, fmt.Errorf("artifact %s: %w", p, err)
	}
	if !st.Mode().IsRegular() {
		return Result{}, fmt.Errorf("artifact %s: not a regular file (%s); point at the compiled binary for %s", p, typeName(st.Mode()), t.Name)
	}
	if st.Size() == 0 {
		return Result{}, fmt.Errorf("artifact %s: the file is empty; the build did not finish: %s", p, b.advice(p, t))
	}
	k, short, err := inspect(p)
	if err != nil {
		return Result{}, fmt.Errorf("%w; %s", err, b.advice(p, t))
	}
	res := Result{Kind: k}
	if err := match(p, k, t, b); err != nil {
		return res, err
	}
	if short != nil {
		return res, fmt.Errorf("artifact %s: %v: the file is incomplete (an interrupted build, copy or download); %s", p, short, b.advice(p, t))
	}
	if t.CPU == "x64" {
		note, err := flavour(p, k, t, b)
		if err != nil {
			return res, err
		}
		if note != "" {
			res.Notes = append(res.Notes, note)
		}
	}
	if t.OS == "win32" && !strings.EqualFold(path.Ext(p), ".exe") {
		return res, fmt.Errorf("artifact %s: a Windows binary needs a .exe name; rename it to %s", p, t.BinaryName(strings.TrimSuffix(path.Base(p), path.Ext(p))))
	}
	if t.OS != "win32" && st.Mode().Perm()&0o111 == 0 {
		return res, fmt.Errorf("artifact %s: not executable (mode %04o); run chmod +x on it, or rebuild it", p, st.Mode().Perm())
	}
	return res, nil
}

// match compares what the binary is with what the target needs: type,
// format, OS, architecture and C library. A Kind read only in part (a
// truncated file) is compared by format alone.
func match(p string, k Kind, t platforms.Target, b Build) error {
	wantFormat := formatFor(t)
	advice := b.advice(p, t)
	if k.Type == "" {
		if k.Format != wantFormat {
			return fmt.Errorf("artifact %s: is %s %s file (cut short) but target %s needs %s %s; %s", p, article(k), k.Format, t.Name, wantFormat, archName(t.CPU), advice)
		}
		return nil
	}
	if k.Type != "executable" {
		return fmt.Errorf("artifact %s: is %s %s, not an executable; %s", p, article(k), k, advice)
	}
	if k.Format != wantFormat || k.OS != t.OS || !contains(k.Arch, t.CPU) {
		what := k.String() + " binary"
		if k.Universal {
			what += " without " + archName(t.CPU) + ","
		}
		return fmt.Errorf("artifact %s: is %s %s but target %s needs %s %s; %s", p, article(k), what, t.Name, wantFormat, archName(t.CPU), advice)
	}
	if k.Format != ELF || k.Interpreter == "" {
		return nil // statically linked binaries run with either libc
	}
	switch {
	case k.Libc == "":
		return fmt.Errorf("artifact %s: unknown dynamic loader %s (expected ld-linux* for glibc or ld-musl-* for musl); target %s needs %s: %s", p, k.Interpreter, t.Name, t.Libc, advice)
	case k.Libc != t.Libc:
		return fmt.Errorf("artifact %s: built for %s (interpreter %s) but target %s needs %s; %s", p, k.Libc, k.Interpreter, t.Name, t.Libc, advice)
	}
	return nil
}

// flavour compares an x64 binary's build with the target's: an AVX2 build
// in a baseline package stops with an illegal instruction on the CPUs that
// package is for, and a baseline build in an AVX2 package is the wrong file
// (slower, and its twin is missing). It returns a note when the binary does
// not say which it is.
func flavour(p string, k Kind, t platforms.Target, b Build) (string, error) {
	need := "CPUs with AVX2"
	if t.Baseline {
		need = "CPUs without AVX2"
	}
	switch {
	case k.Flavour == Baseline && !t.Baseline:
		return "", fmt.Errorf("artifact %s: is a baseline build (%s) but target %s is the AVX2 build, for %s; the baseline build belongs in %s; %s", p, k.FlavourSign, t.Name, need, baselineTwin(t), b.advice(p, t))
	case k.Flavour == AVX2 && t.Baseline:
		return "", fmt.Errorf("artifact %s: is an AVX2 build (%s) but target %s is for %s, where it would stop with an illegal instruction; %s", p, k.FlavourSign, t.Name, need, b.advice(p, t))
	case k.Flavour != "":
		return "", nil
	case k.Build != "":
		return fmt.Sprintf("artifact %s: cannot tell whether it is an AVX2 or a baseline build: its Bun version string (%q) does not say; make sure it is the build for target %s (%s)", p, k.Build, t.Name, need), nil
	}
	return fmt.Sprintf("artifact %s: cannot tell whether it is an AVX2 or a baseline build: nothing in the binary says (it has neither Bun's version string nor Go's build information); make sure it is the build for target %s (%s)", p, t.Name, need), nil
}

// baselineTwin names the baseline target of an AVX2 target t.
func baselineTwin(t platforms.Target) string {
	for _, c := range platforms.Table {
		if c.Baseline && c.OS == t.OS && c.CPU == t.CPU && c.Libc == t.Libc {
			return c.Name
		}
	}
	return "its -baseline target"
}

func describeELF(r io.ReaderAt, withStamp bool) (Kind, error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return Kind{}, fmt.Errorf("corrupt ELF file: %w", err)
	}
	k := Kind{Format: ELF, Arch: []string{elfArch(f)}, OS: elfOS(f.OSABI)}
	switch f.Type {
	case elf.ET_EXEC, elf.ET_DYN:
		k.Type = "executable"
	case elf.ET_REL:
		k.Type = "object file"
	case elf.ET_CORE:
		k.Type = "core dump"
	default:
		k.Type = "ELF file of type " + f.Type.String()
	}
	for _, prog := range f.Progs {
		if prog.Type != elf.PT_INTERP {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(prog.Open(), 4096))
		if err != nil {
			return Kind{}, fmt.Errorf("read ELF interpreter: %w", err)
		}
		k.Interpreter = string(bytes.TrimRight(b, "\x00"))
	}
	if k.Interpreter == "" && f.Type == elf.ET_DYN {
		// No loader and position-independent: a shared library, unless it
		// has an entry point (static-pie executables do).
		if f.Entry == 0 {
			k.Type = "shared library"
		}
	}
	base := path.Base(k.Interpreter)
	switch {
	case strings.HasPrefix(base, "ld-musl-"):
		k.Libc = platforms.Musl
	case strings.HasPrefix(base, "ld-linux"):
		k.Libc = platforms.Glibc
	}
	if withStamp {
		var rodata []*io.SectionReader
		for _, s := range f.Sections {
			if s.Name == ".rodata" && s.Type == elf.SHT_PROGBITS {
				rodata = append(rodata, io.NewSectionReader(s, 0, int64(s.Size)))
			}
		}
		stamp(&k, r, rodata)
	}
	return k, nil
}

func elfArch(f *elf.File) string {
	switch f.Machine {
	case elf.EM_X86_64:
		if f.Class == elf.ELFCLASS32 {
			return "x32"
		}
		return "x64"
	case elf.EM_AARCH64:
		return "arm64"
	case elf.EM_386:
		return "ia32"
	case elf.EM_ARM:
		return "arm"
	case elf.EM_RISCV:
		return "riscv64"
	case elf.EM_PPC64:
		return "ppc64"
	case elf.EM_S390:
		return "s390x"
	case elf.EM_LOONGARCH:
		return "loong64"
	}
	return strings.ToLower(strings.TrimPrefix(f.Machine.String(), "EM_"))
}

func elfOS(abi elf.OSABI) string {
	switch abi {
	case elf.ELFOSABI_NONE, elf.ELFOSABI_LINUX:
		return "linux"
	case elf.ELFOSABI_FREEBSD:
		return "freebsd"
	case elf.ELFOSABI_NETBSD:
		return "netbsd"
	case elf.ELFOSABI_OPENBSD:
		return "openbsd"
	case elf.ELFOSABI_SOLARIS:
		return "sunos"
	}
	return strings.ToLower(strings.TrimPrefix(abi.String(), "ELFOSABI_"))
}

func isMachO(m [4]byte) bool {
	be := uint32(m[0])<<24 | uint32(m[1])<<16 | uint32(m[2])<<8 | uint32(m[3])
	le := uint32(m[3])<<24 | uint32(m[2])<<16 | uint32(m[1])<<8 | uint32(m[0])
	return be == macho.MagicFat || le == macho.Magic32 || le == macho.Magic64 || be == macho.Magic32 || be == macho.Magic64
}

func describeMachO(r io.ReaderAt, magic [4]byte, withStamp bool) (Kind, error) {
	k := Kind{Format: MachO, OS: "darwin", Type: "executable"}
	if binary.BigEndian.Uint32(magic[:]) == macho.MagicFat {
		fat, err := macho.NewFatFile(r)
		if err != nil {
			return Kind{}, fmt.Errorf("corrupt universal Mach-O file: %w", err)
		}
		k.Universal = true
		for _, a := range fat.Arches {
			k.Arch = append(k.Arch, machoArch(a.Cpu))
			if a.Type != macho.TypeExec {
				k.Type = machoType(a.Type)
			}
			if withStamp && a.Cpu == macho.CpuAmd64 {
				// Only x64 has flavours: its slice says what it is.
				stamp(&k, io.NewSectionReader(r, int64(a.Offset), int64(a.Size)), machoRodata(a.File))
			}
		}
		return k, nil
	}
	f, err := macho.NewFile(r)
	if err != nil {
		return Kind{}, fmt.Errorf("corrupt Mach-O file: %w", err)
	}
	k.Arch = []string{machoArch(f.Cpu)}
	k.Type = machoType(f.Type)
	if withStamp {
		stamp(&k, r, machoRodata(f))
	}
	return k, nil
}

// machoRodata is the runtime's constant data: __TEXT's __cstring and __const.
func machoRodata(f *macho.File) []*io.SectionReader {
	var out []*io.SectionReader
	for _, s := range f.Sections {
		if s.Seg == "__TEXT" && (s.Name == "__cstring" || s.Name == "__const") {
			out = append(out, io.NewSectionReader(s, 0, int64(s.Size)))
		}
	}
	return out
}

func machoArch(c macho.Cpu) string {
	switch c {
	case macho.CpuAmd64:
		return "x64"
	case macho.CpuArm64:
		return "arm64"
	case macho.Cpu386:
		return "ia32"
	case macho.CpuArm:
		return "arm"
	}
	return strings.ToLower(strings.TrimPrefix(c.String(), "Cpu"))
}

func machoType(t macho.Type) string {
	switch t {
	case macho.TypeExec:
		return "executable"
	case macho.TypeDylib:
		return "shared library"
	case macho.TypeObj:
		return "object file"
	case macho.TypeBundle:
		return "bundle"
	}
	return fmt.Sprintf("Mach-O file of type %d", t)
}

func describePE(r io.ReaderAt, withStamp bool) (Kind, error) {
	f, err := pe.NewFile(r)
	if err != nil {
		return Kind{}, fmt.Errorf("corrupt PE file: %w", err)
	}
	k := Kind{Format: PE, OS: "win32", Type: "executable"}
	switch f.Machine {
	case pe.IMAGE_FILE_MACHINE_AMD64:
		k.Arch = []string{"x64"}
	case pe.IMAGE_FILE_MACHINE_ARM64:
		k.Arch = []string{"arm64"}
	case pe.IMAGE_FILE_MACHINE_I386:
		k.Arch = []string{"ia32"}
	case pe.IMAGE_FILE_MACHINE_ARMNT:
		k.Arch = []string{"arm"}
	default:
		k.Arch = []string{fmt.Sprintf("machine 0x%04x", f.Machine)}
	}
	if f.Characteristics&pe.IMAGE_FILE_DLL != 0 {
		k.Type = "shared library"
	}
	if withStamp {
		var rodata []*io.SectionReader
		for _, s := range f.Sections {
			if s.Name == ".rdata" {
				rodata = append(rodata, io.NewSectionReader(s, 0, int64(s.Size)))
			}
		}
		stamp(&k, r, rodata)
	}
	return k, nil
}

// formatFor is the binary format a target's OS runs.
func formatFor(t platforms.Target) string {
	switch t.OS {
	case "darwin":
		return MachO
	case "win32":
		return PE
	}
	return ELF
}

// article is the indefinite article for the format's name: "an ELF", "a PE".
func article(k Kind) string {
	if k.Format == ELF {
		return "an"
	}
	return "a"
}

// archName is how messages name an npm cpu value.
func archName(cpu string) string {
	switch cpu {
	case "x64":
		return "x86-64"
	case "ia32":
		return "x86"
	}
	return cpu
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func typeName(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return m.Type().String()
}

// head returns the first bytes of f, for describing unknown files.
func head(f io.ReaderAt) string {
	b := make([]byte, 16)
	n, _ := f.ReadAt(b, 0)
	if i := bytes.IndexByte(b[:n], '\n'); i >= 0 {
		n = i
	}
	return string(b[:n])
}
