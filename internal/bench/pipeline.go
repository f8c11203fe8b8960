package bench

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/agent-facets/release/internal/archive"
	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/pack"
	"github.com/agent-facets/release/internal/releaseassets"
)

// beforePipeline is the CircleCI pipeline as committed at cab9365, before
// the pipeline rework: every job compiles the toolkit, every publish job
// attaches the whole dist directory.
//
//go:embed testdata/circleci-cab9365.yml
var beforePipeline []byte

// beforeSource says where beforePipeline comes from.
const beforeSource = "`internal/ciconfig/examples/circleci/config.yml` as committed at cab9365 (copied to `internal/bench/testdata/circleci-cab9365.yml`)"

// PipelineCost is what one release costs in a CircleCI pipeline: per job,
// the bytes it moves through workspaces and caches and the toolkit's own
// start time, from the pipeline's steps and the real sizes.
type PipelineCost struct {
	// Label and Source say which pipeline this is and where it was read.
	Label, Source string
	Jobs          []JobCost
}

// JobCost is one job's share.
type JobCost struct {
	Name string
	// Attached is what its attach_workspace steps download; Persisted what
	// its persist_to_workspace steps upload; Restored and Saved what its
	// restore_cache and save_cache steps move (a cache is saved only when
	// its key is new).
	Attached, Persisted, Restored, Saved int64
	// Unsized names the paths and caches it moves that the model cannot
	// size: nothing the toolkit's targets write is there.
	Unsized []string
	// MageCalls counts its `go tool mage` starts (each compiles the toolkit
	// or reuses the job's Go build cache); Compiles those that compile (the
	// first of a job, -compile, go build); CompiledCalls its starts of a
	// compiled toolkit binary.
	MageCalls, Compiles, CompiledCalls int
	// Starts says how each start was costed, in order: "cold", "warm Go
	// cache", "warm", "compiled".
	Starts []string
	// Start is the toolkit's own start time in this job: the sum of the
	// measured costs of its starts.
	Start time.Duration
}

// Total sums every job.
func (p *PipelineCost) Total() JobCost {
	t := JobCost{Name: "total"}
	for _, j := range p.Jobs {
		t.Attached += j.Attached
		t.Persisted += j.Persisted
		t.Restored += j.Restored
		t.Saved += j.Saved
		t.MageCalls += j.MageCalls
		t.Compiles += j.Compiles
		t.CompiledCalls += j.CompiledCalls
		t.Start += j.Start
		t.Starts = append(t.Starts, j.Starts...)
		t.Unsized = append(t.Unsized, j.Unsized...)
	}
	return t
}

// startCosts are the measured medians of one start of the toolkit.
type startCosts struct {
	// Cold: `go tool mage` with empty Go build and Mage caches; WarmGo: with
	// a warm Go build cache and an empty Mage cache (a job that restored
	// the Go build cache); Warm: both warm (a second start in the same
	// job); Compiled: a binary that `go tool mage -compile` wrote.
	Cold, WarmGo, Warm, Compiled time.Duration
}

// releaseFiles are the files the toolkit's targets leave in a job's working
// directory, at paths relative to it, with the sizes that a real release's
// files have.
type releaseFiles struct {
	targets  []string
	binaries map[string]string // target → binary path
	tarballs map[string]string // target → platform package tarball path
	records  map[string]int64  // target → the record beside its tarball (path → size below)
	record   map[string]string // target → record path
	cli      string            // the CLI package's tarball path
	// archives are releaseAssets' archives (sized as a platform tarball:
	// the same binary, gzip-compressed) and checksums its checksums file.
	archives  []string
	checksums string
	// Sizes: a binary, a platform tarball, the CLI tarball, a compiled
	// toolkit, the Go build cache after a cold start, the module cache.
	binarySize, tarballSize, cliSize, toolkitSize, goBuildCache, goModCache int64
}

// newReleaseFiles lays out cfg's release at version v (cfg.Dir is the
// working directory).
func newReleaseFiles(cfg *config.Config, v string) *releaseFiles {
	f := &releaseFiles{targets: cfg.Targets, binaries: map[string]string{}, tarballs: map[string]string{},
		records: map[string]int64{}, record: map[string]string{}}
	rel := func(p string) string {
		r := strings.TrimPrefix(p, cfg.Dir)
		return cleanRel(strings.TrimLeft(strings.ReplaceAll(r, "\\", "/"), "/"))
	}
	npmDir := rel(cfg.Path(cfg.Dist.Dir)) + "/npm"
	for _, t := range cfg.PlatformTargets() {
		name := cfg.PlatformPackage(t.Name)
		f.binaries[t.Name] = rel(cfg.BinaryPath(t))
		f.tarballs[t.Name] = npmDir + "/" + pack.TarballName(name, v)
		// A record as pack writes it, with digests of their real lengths.
		data, _ := json.MarshalIndent(pack.Record{Name: name, Version: v, Integrity: "sha512-" + strings.Repeat("A", 88), Shasum: strings.Repeat("0", 40), Size: 1 << 26}, "", "  ")
		f.record[t.Name] = f.tarballs[t.Name] + ".json"
		f.records[t.Name] = int64(len(data) + 1)
	}
	f.cli = npmDir + "/" + pack.TarballName(cfg.CLI.Package, v)
	assets := rel(cfg.AssetsDir())
	for _, a := range cfg.ArchiveList() {
		f.archives = append(f.archives, assets+"/"+releaseassets.Name(cfg.CLI.Binary, a.Name, archive.FormatFor(a.From)))
	}
	f.checksums = assets + "/" + cfg.Assets.Checksums
	return f
}

// products are the files one start of the toolkit leaves: build writes the
// binaries (of one target with -target, or several, comma-separated),
// publishPlatform packs its target's tarball and the record beside it,
// publishCLI the CLI package's tarball, releaseAssets the archives and the
// checksums file; -compile writes the toolkit. Other targets write nothing
// the release moves.
func (f *releaseFiles) products(c toolkitCall) (map[string]int64, string) {
	out := map[string]int64{}
	if c.CompileOut != "" {
		out[c.CompileOut] = f.toolkitSize
		return out, ""
	}
	switch c.Target {
	case "build":
		targets := f.targets
		if list := flagValue(c.Args, "target"); list != "" {
			targets = strings.Split(list, ",")
			for _, t := range targets {
				if _, ok := f.binaries[t]; !ok {
					return out, fmt.Sprintf("build -target=%s: %s is not a configured target", list, t)
				}
			}
		}
		for _, t := range targets {
			out[f.binaries[t]] = f.binarySize
		}
	case "publishPlatform":
		t := positional(c.Args)
		if _, ok := f.tarballs[t]; !ok {
			return out, fmt.Sprintf("publishPlatform %s: not a configured target", t)
		}
		out[f.tarballs[t]] = f.tarballSize
		out[f.record[t]] = f.records[t]
	case "publishCLI":
		out[f.cli] = f.cliSize
	case "releaseAssets":
		var sums int64
		for _, a := range f.archives {
			out[a] = f.tarballSize
			sums += 64 + 2 + int64(len(path.Base(a))) + 1 // sha256sum's line
		}
		out[f.checksums] = sums
	}
	return out, ""
}

// cacheSize sizes a cache path: the Go build cache, the module cache, or
// Mage's cache of compiled magefiles.
func (f *releaseFiles) cacheSize(p string) (int64, bool) {
	switch {
	case strings.Contains(p, "go-build"):
		return f.goBuildCache, true
	case strings.Contains(p, "pkg/mod"):
		return f.goModCache, true
	case strings.Contains(p, ".magefile"):
		return f.toolkitSize, true
	}
	return 0, false
}

// costPipeline costs the jobs of one release.
func costPipeline(jobs []ciJob, files *releaseFiles, starts startCosts) ([]JobCost, error) {
	ordered, err := topoOrder(jobs)
	if err != nil {
		return nil, err
	}
	// Compiled toolkits: what any job's -compile or go build -o writes.
	compiled := map[string]bool{}
	for _, j := range ordered {
		for _, s := range j.Steps {
			if s.Kind == "run" {
				for _, c := range toolkitCalls(s.Command, nil) {
					if c.CompileOut != "" {
						compiled[c.CompileOut] = true
					}
				}
			}
		}
	}
	// Saved caches, for the restores to find: key template → paths.
	saved := map[string][]string{}
	for _, j := range ordered {
		for _, s := range j.Steps {
			if s.Kind == "save_cache" && len(s.Keys) == 1 {
				saved[s.Keys[0]] = s.Paths
			}
		}
	}
	upstream := upstreamOf(ordered)
	layers := map[string]map[string]int64{} // job → its persisted workspace paths
	out := make([]JobCost, 0, len(ordered))
	for _, j := range ordered {
		jc := JobCost{Name: j.Name}
		state := map[string]int64{} // files of the working directory the model knows
		goCache, warm := false, false
		for _, s := range j.Steps {
			switch s.Kind {
			case "attach_workspace":
				ws := map[string]int64{}
				for _, u := range upstream[j.Name] {
					for p, n := range layers[u] {
						ws[p] = n
					}
				}
				at := workDir(s.At)
				for p, n := range ws {
					state[cleanRel(path.Join(at, p))] = n
					jc.Attached += n
				}
			case "persist_to_workspace":
				root := workDir(s.Root)
				if layers[j.Name] == nil {
					layers[j.Name] = map[string]int64{}
				}
				for _, p := range s.Paths {
					pattern := cleanRel(path.Join(root, p))
					found := false
					for f, n := range state {
						if !selects(pattern, f) {
							continue
						}
						found = true
						rel := strings.TrimPrefix(strings.TrimPrefix(f, root), "/")
						if root == "." {
							rel = f
						}
						if _, dup := layers[j.Name][rel]; !dup {
							jc.Persisted += n
						}
						layers[j.Name][rel] = n
					}
					if !found {
						jc.Unsized = append(jc.Unsized, "persist "+p)
					}
				}
			case "restore_cache":
				paths, ok := restoredPaths(s.Keys, saved)
				if !ok {
					jc.Unsized = append(jc.Unsized, "restore_cache "+strings.Join(s.Keys, ", "))
					continue
				}
				for _, p := range paths {
					n, ok := files.cacheSize(p)
					if !ok {
						jc.Unsized = append(jc.Unsized, "restore_cache path "+p)
					}
					jc.Restored += n
					goCache = goCache || strings.Contains(p, "go-build")
				}
			case "save_cache":
				for _, p := range s.Paths {
					n, ok := files.cacheSize(p)
					if !ok {
						jc.Unsized = append(jc.Unsized, "save_cache path "+p)
					}
					jc.Saved += n
				}
			case "run":
				for _, c := range toolkitCalls(s.Command, compiled) {
					switch {
					case c.Compiled:
						jc.CompiledCalls++
						jc.Starts = append(jc.Starts, "compiled")
						jc.Start += starts.Compiled
					case !warm || c.CompileOut != "":
						jc.MageCalls++
						jc.Compiles++
						if goCache || warm {
							jc.Starts = append(jc.Starts, "warm Go cache")
							jc.Start += starts.WarmGo
						} else {
							jc.Starts = append(jc.Starts, "cold")
							jc.Start += starts.Cold
						}
						warm = true
					default:
						jc.MageCalls++
						jc.Starts = append(jc.Starts, "warm")
						jc.Start += starts.Warm
					}
					made, note := files.products(c)
					if note != "" {
						jc.Unsized = append(jc.Unsized, note)
					}
					for p, n := range made {
						state[p] = n
					}
				}
			}
		}
		out = append(out, jc)
	}
	return out, nil
}

// workDir normalises a workspace root or attach point to a path relative to
// the job's working directory (CircleCI's default, ~/project, is ".").
func workDir(p string) string {
	p = strings.TrimSpace(p)
	for _, home := range []string{"~/project", "/home/circleci/project", "$HOME/project", "${HOME}/project"} {
		if p == home || strings.HasPrefix(p, home+"/") {
			p = "." + strings.TrimPrefix(p, home)
		}
	}
	if p == "" {
		return "."
	}
	return cleanRel(p)
}

// selects reports whether a persist_to_workspace path (a file, a directory
// or a glob, relative to the working directory) takes file f.
func selects(pattern, f string) bool {
	if pattern == "." || f == pattern || strings.HasPrefix(f, pattern+"/") {
		return true
	}
	if !strings.ContainsAny(pattern, "*?[") {
		return false
	}
	ps, fs := strings.Split(pattern, "/"), strings.Split(f, "/")
	if len(fs) < len(ps) {
		return false
	}
	for i, p := range ps {
		if p == "**" {
			return true
		}
		if ok, _ := path.Match(p, fs[i]); !ok {
			return false
		}
	}
	return true
}

// restoredPaths finds the saved cache a restore_cache's keys match:
// CircleCI takes the first key that is a prefix of a saved key. Keys are
// compared as templates.
func restoredPaths(keys []string, saved map[string][]string) ([]string, bool) {
	names := make([]string, 0, len(saved))
	for k := range saved {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range keys {
		for _, s := range names {
			if strings.HasPrefix(s, k) {
				return saved[s], true
			}
		}
	}
	return nil, false
}

// toolkitCall is one start of the toolkit in a run step.
type toolkitCall struct {
	// Compiled: a compiled toolkit binary runs, not `go tool mage`.
	Compiled bool
	Target   string
	Args     []string
	// CompileOut is the binary that `go tool mage -compile` (or `go build
	// -o`) writes.
	CompileOut string
}

// wrappers are commands that run the command after them (and their flags).
var wrappers = map[string]bool{"sudo": true, "env": true, "exec": true, "time": true, "command": true, "nice": true}

// mageValueFlags are Mage's own flags that take a value.
var mageValueFlags = map[string]bool{"compile": true, "d": true, "w": true, "t": true, "gocmd": true, "goos": true, "goarch": true, "ldflags": true}

// toolkitCalls finds the starts of the toolkit in a shell script: `go tool
// mage` (or an installed `mage`), `go build -o`, and binaries in compiled.
func toolkitCalls(script string, compiled map[string]bool) []toolkitCall {
	var out []toolkitCall
	for _, words := range shellCommands(script) {
		// Skip VAR=value prefixes and wrappers.
		for len(words) > 0 && (isAssignment(words[0]) || wrappers[words[0]]) {
			wrapper := wrappers[words[0]]
			words = words[1:]
			for wrapper && len(words) > 0 && strings.HasPrefix(words[0], "-") {
				words = words[1:]
			}
		}
		if len(words) == 0 {
			continue
		}
		var rest []string
		switch {
		case len(words) >= 3 && words[0] == "go" && words[1] == "tool" && words[2] == "mage":
			rest = words[3:]
		case words[0] == "mage":
			rest = words[1:]
		case len(words) >= 2 && words[0] == "go" && words[1] == "build":
			if o := flagValue(words[2:], "o"); o != "" {
				out = append(out, toolkitCall{CompileOut: cleanRel(o)})
			}
			continue
		case isCompiled(words[0], compiled):
			t, args := targetOf(words[1:])
			out = append(out, toolkitCall{Compiled: true, Target: t, Args: args})
			continue
		default:
			continue
		}
		if o := flagValue(rest, "compile"); o != "" {
			out = append(out, toolkitCall{CompileOut: cleanRel(o)})
			continue
		}
		// Mage's own flags come before the target.
		for len(rest) > 0 && strings.HasPrefix(rest[0], "-") {
			name := strings.TrimLeft(rest[0], "-")
			rest = rest[1:]
			if mageValueFlags[name] && len(rest) > 0 {
				rest = rest[1:]
			}
		}
		t, args := targetOf(rest)
		out = append(out, toolkitCall{Target: t, Args: args})
	}
	return out
}

func targetOf(words []string) (string, []string) {
	for i, w := range words {
		if !strings.HasPrefix(w, "-") {
			return w, words[i+1:]
		}
	}
	return "", nil
}

func isAssignment(w string) bool {
	i := strings.IndexByte(w, '=')
	return i > 0 && !strings.ContainsAny(w[:i], "-/.$")
}

func isCompiled(word string, compiled map[string]bool) bool {
	w := cleanRel(word)
	for c := range compiled {
		if w == c || strings.HasSuffix(w, "/"+c) || (!strings.Contains(word, "/") && path.Base(c) == word) {
			return true
		}
	}
	return false
}

// flagValue returns the value of -name or --name in args, given as
// -name=value or -name value.
func flagValue(args []string, name string) string {
	for i, a := range args {
		for _, p := range []string{"-" + name, "--" + name} {
			if a == p && i+1 < len(args) {
				return args[i+1]
			}
			if strings.HasPrefix(a, p+"=") {
				return strings.TrimPrefix(a, p+"=")
			}
		}
	}
	return ""
}

// positional returns the first argument that is not a flag.
func positional(args []string) string {
	t, _ := targetOf(args)
	return t
}

// shellCommands splits a shell script into simple commands (at newlines,
// ;, &&, || and |, outside quotes; a backslash joins lines) and each into
// words, unquoted. Comments are dropped. It is enough for CI steps; it
// expands nothing.
func shellCommands(script string) [][]string {
	var cmds [][]string
	var words []string
	var cur strings.Builder
	inWord := false
	endWord := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	endCmd := func() {
		endWord()
		if len(words) > 0 {
			cmds = append(cmds, words)
		}
		words = nil
	}
	rs := []rune(script)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case c == '\\' && i+1 < len(rs):
			i++
			if rs[i] != '\n' {
				cur.WriteRune(rs[i])
				inWord = true
			}
		case c == '\'':
			inWord = true
			for i++; i < len(rs) && rs[i] != '\''; i++ {
				cur.WriteRune(rs[i])
			}
		case c == '"':
			inWord = true
			for i++; i < len(rs) && rs[i] != '"'; i++ {
				if rs[i] == '\\' && i+1 < len(rs) {
					i++
				}
				cur.WriteRune(rs[i])
			}
		case c == '#' && !inWord:
			for i < len(rs) && rs[i] != '\n' {
				i++
			}
			endCmd()
		case c == '\n' || c == ';' || c == '|' || c == '&':
			endCmd()
		case c == ' ' || c == '\t':
			endWord()
		default:
			cur.WriteRune(c)
			inWord = true
		}
	}
	endCmd()
	return cmds
}
