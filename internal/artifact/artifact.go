// Package artifact checks a built CLI binary against the platform target it
// is about to be published for: that it exists, is executable, and is an
// ELF, Mach-O or PE binary of the target's OS, architecture and C library.
// It catches a binary copied into the wrong platform package before npm
// users download it.
package artifact

import (
	"bytes"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
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

// Describe reads the header of the binary at path and reports its format,
// OS, architecture and, for ELF, its dynamic loader.
func Describe(p string) (Kind, error) {
	f, err := os.Open(p)
	if err != nil {
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			err = pathErr.Err
		}
		return Kind{}, fmt.Errorf("artifact %s: %w", p, err)
	}
	defer f.Close()
	var magic [4]byte
	n, err := io.ReadFull(f, magic[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return Kind{}, fmt.Errorf("artifact %s: %w", p, err)
	}
	if n == 0 {
		return Kind{}, fmt.Errorf("artifact %s: the file is empty; the build did not finish: rebuild it", p)
	}
	var k Kind
	switch {
	case bytes.Equal(magic[:n], []byte(elf.ELFMAG)):
		k, err = describeELF(f)
	case n >= 2 && magic[0] == 'M' && magic[1] == 'Z':
		k, err = describePE(f)
	case n == 4 && isMachO(magic):
		k, err = describeMachO(f, magic)
	default:
		return Kind{}, fmt.Errorf("artifact %s: not a native binary (starts with %q); expected an ELF, Mach-O or PE executable: point at the compiled binary, not a script or launcher", p, head(f))
	}
	if err != nil {
		return Kind{}, fmt.Errorf("artifact %s: %w", p, err)
	}
	return k, nil
}

// Check verifies that the file at path is a binary that runs on target t: it
// exists, is a non-empty regular file, is executable (Windows targets are
// exempt, but need a .exe name), and its format, architecture and C library
// match the target. Errors name the file and what to do. Check cannot tell a
// baseline x64 build from an AVX2 one; it checks what the headers record.
func Check(p string, t platforms.Target) error {
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("artifact %s: not found; build target %s first (bun build --compile --target=%s)", p, t.Name, t.BunTarget)
	}
	if err != nil {
		return fmt.Errorf("artifact %s: %w", p, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("artifact %s: not a regular file (%s); point at the compiled binary for %s", p, typeName(st.Mode()), t.Name)
	}
	if st.Size() == 0 {
		return fmt.Errorf("artifact %s: the file is empty; the build did not finish: rebuild it with --target=%s", p, t.BunTarget)
	}
	if t.OS != "win32" && st.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("artifact %s: not executable (mode %04o); run chmod +x on it, or rebuild it", p, st.Mode().Perm())
	}
	k, err := Describe(p)
	if err != nil {
		return err
	}
	return match(p, k, t)
}

// match compares what the binary is with what the target needs.
func match(p string, k Kind, t platforms.Target) error {
	wantFormat := formatFor(t)
	rebuild := "rebuild with --target=" + t.BunTarget
	if k.Type != "executable" {
		return fmt.Errorf("artifact %s: is %s %s, not an executable; %s", p, article(k), k, rebuild)
	}
	if k.Format != wantFormat || k.OS != t.OS || !contains(k.Arch, t.CPU) {
		what := k.String() + " binary"
		if k.Universal {
			what += " without " + archName(t.CPU) + ","
		}
		return fmt.Errorf("artifact %s: is %s %s but target %s needs %s %s; %s", p, article(k), what, t.Name, wantFormat, archName(t.CPU), rebuild)
	}
	if t.OS == "win32" && !strings.EqualFold(path.Ext(p), ".exe") {
		return fmt.Errorf("artifact %s: a Windows binary needs a .exe name; rename it to %s", p, t.BinaryName(strings.TrimSuffix(path.Base(p), path.Ext(p))))
	}
	if k.Format != ELF || k.Interpreter == "" {
		return nil // statically linked binaries run with either libc
	}
	switch {
	case k.Libc == "":
		return fmt.Errorf("artifact %s: unknown dynamic loader %s (expected ld-linux* for glibc or ld-musl-* for musl); target %s needs %s: %s", p, k.Interpreter, t.Name, t.Libc, rebuild)
	case k.Libc != t.Libc:
		return fmt.Errorf("artifact %s: built for %s (interpreter %s) but target %s needs %s; %s", p, k.Libc, k.Interpreter, t.Name, t.Libc, rebuild)
	}
	return nil
}

func describeELF(r io.ReaderAt) (Kind, error) {
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

func describeMachO(r io.ReaderAt, magic [4]byte) (Kind, error) {
	k := Kind{Format: MachO, OS: "darwin", Type: "executable"}
	if uint32(magic[0])<<24|uint32(magic[1])<<16|uint32(magic[2])<<8|uint32(magic[3]) == macho.MagicFat {
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
		}
		return k, nil
	}
	f, err := macho.NewFile(r)
	if err != nil {
		return Kind{}, fmt.Errorf("corrupt Mach-O file: %w", err)
	}
	k.Arch = []string{machoArch(f.Cpu)}
	k.Type = machoType(f.Type)
	return k, nil
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

func describePE(r io.ReaderAt) (Kind, error) {
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
