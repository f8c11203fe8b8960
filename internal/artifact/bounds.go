package artifact

import (
	"bytes"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
)

// A span is a range of the file that a header points at.
type span struct {
	what   string // "section .text", "LC_CODE_SIGNATURE data", ...
	off, n uint64
}

// truncated reports a header that points past the end of the file: the file
// is incomplete (an interrupted build, copy or download).
type truncated struct {
	what      string
	end, size uint64
}

func (t *truncated) Error() string {
	return fmt.Sprintf("truncated: %s ends at byte %d but the file has only %d bytes", t.what, t.end, t.size)
}

// past returns a span that does not fit in size bytes, or nil. Of the spans
// the end of the file cuts through it returns the innermost (a section or
// the code signature rather than the segment holding it); when none is cut
// through, the first of those wholly past the end.
func past(spans []span, size uint64) *truncated {
	var cut, beyond *span
	for i, s := range spans {
		if s.off <= size && s.n <= size-s.off {
			continue
		}
		switch {
		case s.off < size && (cut == nil || s.n < cut.n):
			cut = &spans[i]
		case s.off >= size && beyond == nil:
			beyond = &spans[i]
		}
	}
	if cut == nil {
		cut = beyond
	}
	if cut == nil {
		return nil
	}
	end := cut.off + cut.n
	if end < cut.off { // overflow: report the offset itself
		end = cut.off
	}
	return &truncated{what: cut.what, end: end, size: size}
}

// readAt reads n bytes at off, or returns nil when they are not all there.
func readAt(r io.ReaderAt, off, n uint64) []byte {
	if n > 1<<30 {
		return nil
	}
	b := make([]byte, n)
	if _, err := r.ReadAt(b, int64(off)); err != nil {
		return nil
	}
	return b
}

// elfBounds checks that the ELF header's tables, every segment and every
// section with file contents lie inside the file's size bytes.
func elfBounds(r io.ReaderAt, size uint64) *truncated {
	ident := readAt(r, 0, elf.EI_NIDENT)
	if ident == nil {
		return &truncated{what: "the ELF header", end: elf.EI_NIDENT, size: size}
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if elf.Data(ident[elf.EI_DATA]) == elf.ELFDATA2MSB {
		bo = binary.BigEndian
	}
	is64 := elf.Class(ident[elf.EI_CLASS]) == elf.ELFCLASS64
	var phoff, shoff uint64
	var phentsize, phnum, shentsize, shnum, shstrndx uint64
	hdrSize := uint64(52)
	if is64 {
		hdrSize = 64
	}
	h := readAt(r, 0, hdrSize)
	if h == nil {
		return &truncated{what: "the ELF header", end: hdrSize, size: size}
	}
	if is64 {
		var x elf.Header64
		binary.Read(bytes.NewReader(h), bo, &x)
		phoff, shoff = x.Phoff, x.Shoff
		phentsize, phnum, shentsize, shnum, shstrndx = uint64(x.Phentsize), uint64(x.Phnum), uint64(x.Shentsize), uint64(x.Shnum), uint64(x.Shstrndx)
	} else {
		var x elf.Header32
		binary.Read(bytes.NewReader(h), bo, &x)
		phoff, shoff = uint64(x.Phoff), uint64(x.Shoff)
		phentsize, phnum, shentsize, shnum, shstrndx = uint64(x.Phentsize), uint64(x.Phnum), uint64(x.Shentsize), uint64(x.Shnum), uint64(x.Shstrndx)
	}
	if shoff != 0 && shnum == 0 && shentsize != 0 {
		// Extended numbering: the count is section 0's size field.
		if b := readAt(r, shoff, shentsize); b != nil {
			if is64 {
				shnum = bo.Uint64(b[32:40])
			} else {
				shnum = uint64(bo.Uint32(b[20:24]))
			}
		}
	}
	tables := []span{
		{"the program header table", phoff, phnum * phentsize},
		{"the section header table", shoff, shnum * shentsize},
	}
	if t := past(tables, size); t != nil {
		return t
	}
	var spans []span
	for i := uint64(0); i < phnum; i++ {
		b := readAt(r, phoff+i*phentsize, phentsize)
		if b == nil || (is64 && len(b) < 56) || (!is64 && len(b) < 32) {
			break // a malformed table is for debug/elf to report
		}
		var typ uint32
		var off, filesz uint64
		if is64 {
			typ, off, filesz = bo.Uint32(b[0:4]), bo.Uint64(b[8:16]), bo.Uint64(b[32:40])
		} else {
			typ, off, filesz = bo.Uint32(b[0:4]), uint64(bo.Uint32(b[4:8])), uint64(bo.Uint32(b[16:20]))
		}
		if filesz > 0 {
			spans = append(spans, span{fmt.Sprintf("segment %d (%s)", i, elf.ProgType(typ)), off, filesz})
		}
	}
	type sect struct {
		index, off, n uint64
		name          uint32
		typ           elf.SectionType
	}
	sects := make([]sect, 0, shnum)
	for i := uint64(0); i < shnum && i < 1<<16; i++ {
		b := readAt(r, shoff+i*shentsize, shentsize)
		if b == nil || (is64 && len(b) < 64) || (!is64 && len(b) < 40) {
			break
		}
		s := sect{index: i}
		s.name, s.typ = bo.Uint32(b[0:4]), elf.SectionType(bo.Uint32(b[4:8]))
		if is64 {
			s.off, s.n = bo.Uint64(b[24:32]), bo.Uint64(b[32:40])
		} else {
			s.off, s.n = uint64(bo.Uint32(b[16:20])), uint64(bo.Uint32(b[20:24]))
		}
		sects = append(sects, s)
	}
	var names []byte
	if shstrndx < uint64(len(sects)) {
		s := sects[shstrndx]
		if s.off <= size && s.n <= size-s.off && s.n < 1<<24 {
			names = readAt(r, s.off, s.n)
		}
	}
	for _, s := range sects {
		if s.typ == elf.SHT_NOBITS || s.typ == elf.SHT_NULL || s.n == 0 {
			continue
		}
		name := fmt.Sprintf("#%d", s.index)
		if int(s.name) < len(names) {
			if n, _, _ := bytes.Cut(names[s.name:], []byte{0}); len(n) > 0 {
				name = string(n)
			}
		}
		spans = append(spans, span{"section " + name, s.off, s.n})
	}
	return past(spans, size)
}

// Mach-O load commands that point at file contents, beyond segments.
const (
	lcSymtab           = 0x2
	lcDysymtab         = 0xb
	lcCodeSignature    = 0x1d
	lcSegmentSplitInfo = 0x1e
	lcEncryptionInfo   = 0x21
	lcDyldInfo         = 0x22
	lcFunctionStarts   = 0x26
	lcDataInCode       = 0x29
	lcDylibCodeSignDRs = 0x2b
	lcEncryptionInfo64 = 0x2c
	lcLinkerOptHint    = 0x2e
	lcNote             = 0x31
	lcAtomInfo         = 0x36
	lcDyldInfoOnly     = 0x80000022
	lcDyldExportsTrie  = 0x80000033
	lcDyldChainedFixup = 0x80000034
)

var linkeditData = map[uint32]string{
	lcCodeSignature:    "LC_CODE_SIGNATURE data (the code signature)",
	lcSegmentSplitInfo: "LC_SEGMENT_SPLIT_INFO data",
	lcFunctionStarts:   "LC_FUNCTION_STARTS data",
	lcDataInCode:       "LC_DATA_IN_CODE data",
	lcDylibCodeSignDRs: "LC_DYLIB_CODE_SIGN_DRS data",
	lcLinkerOptHint:    "LC_LINKER_OPTIMIZATION_HINT data",
	lcAtomInfo:         "LC_ATOM_INFO data",
	lcDyldExportsTrie:  "LC_DYLD_EXPORTS_TRIE data",
	lcDyldChainedFixup: "LC_DYLD_CHAINED_FIXUPS data",
}

// Section types without file contents.
const (
	sZerofill            = 0x1
	sGBZerofill          = 0xc
	sThreadLocalZerofill = 0x12
)

// machoBounds checks that the load commands of a thin Mach-O file, and every
// range of the file they point at, lie inside its size bytes.
func machoBounds(r io.ReaderAt, size uint64) *truncated {
	m := readAt(r, 0, 4)
	if m == nil {
		return &truncated{what: "the Mach-O header", end: 4, size: size}
	}
	var bo binary.ByteOrder = binary.LittleEndian
	magic := bo.Uint32(m)
	if magic != macho.Magic32 && magic != macho.Magic64 {
		bo = binary.BigEndian
		magic = bo.Uint32(m)
	}
	is64 := magic == macho.Magic64
	hdrSize := uint64(28)
	if is64 {
		hdrSize = 32
	}
	h := readAt(r, 0, hdrSize)
	if h == nil {
		return &truncated{what: "the Mach-O header", end: hdrSize, size: size}
	}
	ncmds, sizeofcmds := uint64(bo.Uint32(h[16:20])), uint64(bo.Uint32(h[20:24]))
	if t := past([]span{{"the load command table", hdrSize, sizeofcmds}}, size); t != nil {
		return t
	}
	cmds := readAt(r, hdrSize, sizeofcmds)
	if cmds == nil {
		return nil
	}
	var spans []span
	u32 := func(b []byte, i int) uint64 { return uint64(bo.Uint32(b[i : i+4])) }
	u64 := func(b []byte, i int) uint64 { return bo.Uint64(b[i : i+8]) }
	name16 := func(b []byte) string { n, _, _ := bytes.Cut(b[:16], []byte{0}); return string(n) }
	for i := uint64(0); i < ncmds && len(cmds) >= 8; i++ {
		cmd, n := bo.Uint32(cmds[0:4]), bo.Uint32(cmds[4:8])
		if n < 8 || uint64(n) > uint64(len(cmds)) {
			break // malformed: debug/macho reports it
		}
		c := cmds[:n]
		cmds = cmds[n:]
		switch {
		case cmd == uint32(macho.LoadCmdSegment64) && len(c) >= 72:
			seg := name16(c[8:])
			spans = append(spans, span{"segment " + seg, u64(c, 40), u64(c, 48)})
			for j, s := uint64(0), c[72:]; j < u32(c, 64) && len(s) >= 80; j, s = j+1, s[80:] {
				sectName := seg + "," + name16(s)
				if t := u32(s, 64) & 0xff; t != sZerofill && t != sGBZerofill && t != sThreadLocalZerofill {
					spans = append(spans, span{"section " + sectName, u32(s, 48), u64(s, 40)})
				}
				if nreloc := u32(s, 60); nreloc > 0 {
					spans = append(spans, span{"the relocations of section " + sectName, u32(s, 56), nreloc * 8})
				}
			}
		case cmd == uint32(macho.LoadCmdSegment) && len(c) >= 56:
			seg := name16(c[8:])
			spans = append(spans, span{"segment " + seg, u32(c, 32), u32(c, 36)})
			for j, s := uint64(0), c[56:]; j < u32(c, 48) && len(s) >= 68; j, s = j+1, s[68:] {
				sectName := seg + "," + name16(s)
				if t := u32(s, 56) & 0xff; t != sZerofill && t != sGBZerofill && t != sThreadLocalZerofill {
					spans = append(spans, span{"section " + sectName, u32(s, 40), u32(s, 36)})
				}
				if nreloc := u32(s, 52); nreloc > 0 {
					spans = append(spans, span{"the relocations of section " + sectName, u32(s, 48), nreloc * 8})
				}
			}
		case cmd == lcSymtab && len(c) >= 24:
			entry := uint64(12)
			if is64 {
				entry = 16
			}
			spans = append(spans,
				span{"the symbol table (LC_SYMTAB)", u32(c, 8), u32(c, 12) * entry},
				span{"the string table (LC_SYMTAB)", u32(c, 16), u32(c, 20)})
		case cmd == lcDysymtab && len(c) >= 80:
			spans = append(spans,
				span{"the indirect symbol table (LC_DYSYMTAB)", u32(c, 56), u32(c, 60) * 4},
				span{"the external relocations (LC_DYSYMTAB)", u32(c, 64), u32(c, 68) * 8},
				span{"the local relocations (LC_DYSYMTAB)", u32(c, 72), u32(c, 76) * 8})
		case (cmd == lcDyldInfo || cmd == lcDyldInfoOnly) && len(c) >= 48:
			for k, what := range []string{"rebase", "bind", "weak bind", "lazy bind", "export"} {
				spans = append(spans, span{"the " + what + " information (LC_DYLD_INFO)", u32(c, 8+8*k), u32(c, 12+8*k)})
			}
		case (cmd == lcEncryptionInfo || cmd == lcEncryptionInfo64) && len(c) >= 20:
			spans = append(spans, span{"the encrypted range (LC_ENCRYPTION_INFO)", u32(c, 8), u32(c, 12)})
		case cmd == lcNote && len(c) >= 40:
			spans = append(spans, span{"LC_NOTE " + name16(c[8:]), u64(c, 24), u64(c, 32)})
		case linkeditData[cmd] != "" && len(c) >= 16:
			spans = append(spans, span{linkeditData[cmd], u32(c, 8), u32(c, 12)})
		}
	}
	var nonEmpty []span
	for _, s := range spans {
		if s.n > 0 {
			nonEmpty = append(nonEmpty, s)
		}
	}
	return past(nonEmpty, size)
}

// fatBounds checks a universal Mach-O: its architecture table, each slice,
// and each slice's own contents.
func fatBounds(r io.ReaderAt, size uint64) *truncated {
	h := readAt(r, 0, 8)
	if h == nil {
		return &truncated{what: "the universal header", end: 8, size: size}
	}
	n := uint64(binary.BigEndian.Uint32(h[4:8]))
	if t := past([]span{{"the universal header's architecture table", 8, n * 20}}, size); t != nil {
		return t
	}
	for i := uint64(0); i < n && i < 64; i++ {
		a := readAt(r, 8+i*20, 20)
		cpu := macho.Cpu(binary.BigEndian.Uint32(a[0:4]))
		off, sz := uint64(binary.BigEndian.Uint32(a[8:12])), uint64(binary.BigEndian.Uint32(a[12:16]))
		slice := "the " + archName(machoArch(cpu)) + " slice"
		if t := past([]span{{slice, off, sz}}, size); t != nil {
			return t
		}
		if t := machoBounds(io.NewSectionReader(r, int64(off), int64(sz)), sz); t != nil {
			t.what = slice + "'s " + strings.TrimPrefix(t.what, "the ")
			t.end += off
			t.size += off
			return t
		}
	}
	return nil
}

// peBounds checks that the PE headers, every section's raw data, the COFF
// symbol table and the certificate table (security directory) lie inside
// the file's size bytes.
func peBounds(r io.ReaderAt, size uint64) *truncated {
	dos := readAt(r, 0, 0x40)
	if dos == nil {
		return &truncated{what: "the MS-DOS header", end: 0x40, size: size}
	}
	lfanew := uint64(binary.LittleEndian.Uint32(dos[0x3c:0x40]))
	if t := past([]span{{"the PE header", lfanew, 24}}, size); t != nil {
		return t
	}
	ph := readAt(r, lfanew, 24)
	var fh pe.FileHeader
	binary.Read(bytes.NewReader(ph[4:]), binary.LittleEndian, &fh)
	optOff := lfanew + 24
	secOff := optOff + uint64(fh.SizeOfOptionalHeader)
	if t := past([]span{
		{"the optional header", optOff, uint64(fh.SizeOfOptionalHeader)},
		{"the section table", secOff, uint64(fh.NumberOfSections) * 40},
	}, size); t != nil {
		return t
	}
	var spans []span
	opt := readAt(r, optOff, uint64(fh.SizeOfOptionalHeader))
	if len(opt) >= 64 {
		spans = append(spans, span{"the headers (SizeOfHeaders)", 0, uint64(binary.LittleEndian.Uint32(opt[60:64]))})
		dirs, count := 96, 92 // PE32
		if binary.LittleEndian.Uint16(opt[0:2]) == 0x20b {
			dirs, count = 112, 108 // PE32+
		}
		sec := dirs + 8*pe.IMAGE_DIRECTORY_ENTRY_SECURITY
		if len(opt) >= count+4 && binary.LittleEndian.Uint32(opt[count:count+4]) > pe.IMAGE_DIRECTORY_ENTRY_SECURITY && len(opt) >= sec+8 {
			// The security directory holds a file offset, not an RVA.
			off, n := uint64(binary.LittleEndian.Uint32(opt[sec:sec+4])), uint64(binary.LittleEndian.Uint32(opt[sec+4:sec+8]))
			if n > 0 {
				spans = append(spans, span{"the certificate table (security directory)", off, n})
			}
		}
	}
	for i := uint64(0); i < uint64(fh.NumberOfSections); i++ {
		b := readAt(r, secOff+i*40, 40)
		name, _, _ := bytes.Cut(b[:8], []byte{0})
		raw, ptr := uint64(binary.LittleEndian.Uint32(b[16:20])), uint64(binary.LittleEndian.Uint32(b[20:24]))
		if raw > 0 {
			spans = append(spans, span{"the data of section " + string(name), ptr, raw})
		}
	}
	if fh.PointerToSymbolTable != 0 {
		spans = append(spans, span{"the COFF symbol table", uint64(fh.PointerToSymbolTable), uint64(fh.NumberOfSymbols) * 18})
	}
	return past(spans, size)
}
