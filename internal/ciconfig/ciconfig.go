// Package ciconfig generates the release pipelines for CircleCI and GitHub
// Actions from the release configuration, the platform table and the tool
// versions the repository pins, and checks that committed pipeline files
// still match what would be generated.
//
// Both pipelines have the same job graph (see Jobs): a build job compiles
// the toolkit once into a binary that every later job runs; one publish job
// per configured target builds its own target and publishes its platform
// package; beside them package-assets builds the archives' targets and makes
// the standalone archives; the CLI job waits for every platform job and
// receives only their integrity records; github-release follows the
// archives and the CLI; the last job posts the success notice, and every
// job posts a failure notice when it fails. Library tags run a workflow of
// their own. Every job runs a Mage target of this toolkit, so the pipelines
// hold no release logic of their own.
package ciconfig

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
	"gopkg.in/yaml.v3"

	"github.com/agent-facets/release/internal/config"
)

// Defaults for Options, used when the repository pins nothing.
const (
	// DefaultCircleCIContext is the default name of the CircleCI context
	// the publish jobs run in (release.json ci.contexts.publish). Its id
	// must be listed in trustedPublisher.contextIds.
	DefaultCircleCIContext = "bot-context"
	// DefaultGoImage is the CircleCI convenience image with Go and Node.js
	// (the "-node" variant of cimg/go) when go.mod says no Go version.
	DefaultGoImage = "cimg/go:1.26-node"
	// DefaultNodeVersion is the Node.js release installed on GitHub Actions
	// when the repository pins none.
	DefaultNodeVersion = "24"
	// DefaultNPMVersion is the npm release every publishing job installs
	// when the repository pins none: the oldest that publishes with a
	// CircleCI OIDC token.
	DefaultNPMVersion = "11.11.0"
)

// minNPM is the oldest npm that publishes with a CircleCI OIDC token.
var minNPM = semver.MustParse("11.11.0")

// Layout says where the generated files go, relative to the directory given
// to Write and Verify.
type Layout struct {
	CircleCI string
	GitHub   string
}

var (
	// RepoLayout is where CircleCI and GitHub look for pipelines in a repository.
	RepoLayout = Layout{CircleCI: ".circleci/config.yml", GitHub: ".github/workflows/release.yml"}
	// ExamplesLayout is the layout of this toolkit's examples directory
	// (internal/ciconfig/examples).
	ExamplesLayout = Layout{CircleCI: "circleci/config.yml", GitHub: "github/release.yml"}
)

// LayoutFor is the layout of dir: ExamplesLayout for a directory named
// "examples" (this toolkit's own examples), RepoLayout anywhere else.
func LayoutFor(dir string) Layout {
	if filepath.Base(filepath.Clean(dir)) == "examples" {
		return ExamplesLayout
	}
	return RepoLayout
}

// Options tune the generated pipelines. The zero value of a field means the
// repository's pin (see ReadTools), else the default.
type Options struct {
	// CircleCIContext overrides release.json's ci.contexts.publish: the
	// CircleCI context the publish jobs run in (workflow "context:" takes a
	// name, not the id in trustedPublisher.contextIds).
	CircleCIContext string
	// GoImage is the CircleCI Docker image: it must hold Go, Node.js, npm
	// and sudo. Default "cimg/go:<go.mod's go>-node".
	GoImage string
	// NodeVersion is the Node.js version set up on GitHub Actions.
	NodeVersion string
	// NPMVersion is the npm version the publishing jobs install; at least
	// 11.11.0.
	NPMVersion string
	// BunVersion is the Bun version installed when the build command runs
	// bun. Default: the repository's pin, which it must then have.
	BunVersion string
	// Layout places the files for Write and Verify. Default RepoLayout.
	Layout Layout
	// RepoDir is the repository whose pins are read. Default the directory
	// of the release configuration.
	RepoDir string
}

// Option changes one or more Options.
type Option func(*Options)

// WithCircleCIContext sets the name of the CircleCI context of the publish jobs.
func WithCircleCIContext(name string) Option {
	return func(o *Options) { o.CircleCIContext = name }
}

// WithLayout sets where Write and Verify put the files.
func WithLayout(l Layout) Option {
	return func(o *Options) { o.Layout = l }
}

// WithOptions sets every non-empty field of opts.
func WithOptions(opts Options) Option {
	return func(o *Options) {
		for _, f := range []struct {
			dst *string
			src string
		}{
			{&o.CircleCIContext, opts.CircleCIContext},
			{&o.GoImage, opts.GoImage},
			{&o.NodeVersion, opts.NodeVersion},
			{&o.NPMVersion, opts.NPMVersion},
			{&o.BunVersion, opts.BunVersion},
			{&o.RepoDir, opts.RepoDir},
		} {
			if f.src != "" {
				*f.dst = f.src
			}
		}
		if opts.Layout != (Layout{}) {
			o.Layout = opts.Layout
		}
	}
}

func resolve(opts []Option) Options {
	o := Options{Layout: RepoLayout}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// safeTagPrefix is what a tag prefix may hold so that it can go unquoted
// into shell commands, a CircleCI regular expression and a GitHub glob.
var safeTagPrefix = regexp.MustCompile(`^[A-Za-z0-9@._/-]+$`)

// safeRelPath is what the dist directory may hold to go into shell commands.
var safeRelPath = regexp.MustCompile(`^[A-Za-z0-9._/-]+$`)

// plan is what both generators need, checked once.
type plan struct {
	cfg      *config.Config
	opts     Options
	tools    Tools
	source   string // the configuration file's base name, for the header
	prefix   string // the tag prefix
	dist     string // the dist directory, relative to the repository root
	assets   string // the assets directory, relative to the repository root
	targets  []string
	sources  []string // the targets the archives are made from
	bunBuild bool
	staged   bool // release.mode stage
	jobs     []Job
}

func newPlan(cfg *config.Config, opts []Option) (*plan, error) {
	if cfg == nil {
		return nil, errors.New("generate CI configuration: no release configuration given")
	}
	o := resolve(opts)
	p := &plan{cfg: cfg, source: config.DefaultFile, prefix: cfg.Release.TagPrefix}
	if cfg.File != "" {
		p.source = filepath.Base(cfg.File)
	}
	repo := o.RepoDir
	if repo == "" {
		repo = cfg.Dir
	}
	if repo != "" {
		t, err := ReadTools(repo)
		if err != nil {
			return nil, fmt.Errorf("generate CI configuration: %w", err)
		}
		p.tools = t
	}
	if o.CircleCIContext == "" {
		o.CircleCIContext = cfg.CI.Contexts.Publish
	}
	for _, f := range []struct {
		dst      *string
		pin, def string
	}{
		{&o.BunVersion, p.tools.Bun, ""},
		{&o.NodeVersion, p.tools.Node, DefaultNodeVersion},
		{&o.NPMVersion, p.tools.NPM, DefaultNPMVersion},
		{&o.GoImage, goImage(p.tools.Go), DefaultGoImage},
		{&o.CircleCIContext, "", DefaultCircleCIContext},
	} {
		if *f.dst == "" {
			*f.dst = f.pin
		}
		if *f.dst == "" {
			*f.dst = f.def
		}
	}
	if p.tools.BunLock == "" {
		p.tools.BunLock = "bun.lock"
	}
	p.opts = o
	if err := p.stageMode(); err != nil {
		return nil, err
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	p.jobs = graph(p)
	return p, nil
}

func goImage(v string) string {
	if v == "" {
		return ""
	}
	return "cimg/go:" + v + "-node"
}

func (p *plan) check() error {
	o, cfg := p.opts, p.cfg
	v, err := semver.StrictNewVersion(o.NPMVersion)
	if err != nil || v.LessThan(minNPM) {
		return fmt.Errorf("ci options: npm version %q: want an exact version, 11.11.0 or newer (trusted publishing from CircleCI needs it)", o.NPMVersion)
	}
	p.bunBuild = len(cfg.Build.Command) > 0 && cfg.Build.Command[0] == "bun"
	if p.bunBuild && o.BunVersion == "" {
		return fmt.Errorf("generate CI configuration from %s: build.command runs bun, but the repository pins no Bun version: set \"packageManager\": \"bun@X.Y.Z\" in its package.json, or a \"bun X.Y.Z\" line in .tool-versions", p.source)
	}
	if o.BunVersion != "" {
		if _, err := semver.StrictNewVersion(o.BunVersion); err != nil {
			return fmt.Errorf("ci options: bun version %q: want an exact version such as 1.3.5", o.BunVersion)
		}
	}
	for _, f := range []struct{ name, v string }{
		{"CircleCI context", o.CircleCIContext},
		{"Go image", o.GoImage},
		{"Node.js version", o.NodeVersion},
	} {
		if strings.TrimSpace(f.v) == "" || strings.ContainsAny(f.v, "\n\r") {
			return fmt.Errorf("ci options: %s %q must be a non-empty single line", f.name, f.v)
		}
	}
	if o.Layout.CircleCI == "" || o.Layout.GitHub == "" || o.Layout.CircleCI == o.Layout.GitHub {
		return fmt.Errorf("ci options: layout %+v needs two different file paths", o.Layout)
	}
	if !safeTagPrefix.MatchString(p.prefix) {
		return fmt.Errorf("generate CI configuration from %s: release.tagPrefix %q may hold only letters, digits and @ . _ / -: change it, e.g. to %q", p.source, p.prefix, cfg.CLI.Package+"@")
	}
	var err2 error
	if p.dist, err2 = p.relDir("dist.dir", cfg.Dist.Dir); err2 != nil {
		return err2
	}
	assets := cfg.Assets.Dir
	if assets == "" {
		assets = filepath.Join(cfg.Dist.Dir, "assets")
	}
	if p.assets, err2 = p.relDir("assets.dir", assets); err2 != nil {
		return err2
	}
	if len(cfg.Targets) == 0 {
		return fmt.Errorf("generate CI configuration from %s: no targets: list them in \"targets\"", p.source)
	}
	for _, t := range cfg.Targets {
		if _, err := cfg.Target(t); err != nil {
			return fmt.Errorf("generate CI configuration from %s: %w", p.source, err)
		}
	}
	p.targets = append([]string(nil), cfg.Targets...)
	seen := map[string]bool{}
	for _, a := range cfg.ArchiveList() {
		if !seen[a.From.Name] {
			seen[a.From.Name] = true
			p.sources = append(p.sources, a.From.Name)
		}
	}
	for job := range cfg.CI.ResourceClasses {
		if !knownJob(job) {
			return fmt.Errorf("generate CI configuration from %s: ci.resourceClasses names %q, which is not a job: use one of %s", p.source, job, strings.Join(jobNames, ", "))
		}
	}
	return nil
}

// relDir checks a directory of the configuration that goes into shell
// commands and returns it relative to the repository root.
func (p *plan) relDir(field, dir string) (string, error) {
	d := filepath.ToSlash(filepath.Clean(dir))
	if filepath.IsAbs(dir) || d == "." || d == ".." || strings.HasPrefix(d, "../") || !safeRelPath.MatchString(d) {
		return "", fmt.Errorf("generate CI configuration from %s: %s %q must be a plain path inside the repository (letters, digits, . _ / -), e.g. \"dist\"", p.source, field, dir)
	}
	return d, nil
}

// TagRegexp returns the regular expression, without CircleCI's surrounding
// slashes, that a release tag matches: the tag prefix, then a version.
func TagRegexp(cfg *config.Config) string {
	return `^` + regexp.QuoteMeta(cfg.Release.TagPrefix) + `\d+\.\d+\.\d+.*$`
}

// LibraryTagRegexp is the regular expression a library release's tag
// matches: the scope, a package name, "@" and a version.
func LibraryTagRegexp(cfg *config.Config) string {
	// The slash is escaped: CircleCI's /regexp/ filters are delimited by slashes.
	return `^` + regexp.QuoteMeta(cfg.Scope) + `\/[a-z0-9][a-z0-9._-]*@\d+\.\d+\.\d+.*$`
}

// tagGlob is the GitHub Actions filter pattern for a release tag. The prefix
// holds no glob metacharacters (safeTagPrefix).
func (p *plan) tagGlob() string {
	return p.prefix + "[0-9]+.[0-9]+.[0-9]+*"
}

// libraryGlob is the GitHub Actions filter pattern for a library tag.
func (p *plan) libraryGlob() string {
	return p.cfg.Scope + "/*@[0-9]+.[0-9]+.[0-9]+*"
}

// versionScript checks the tag from the environment variable tagVar and
// appends assignments of RELEASE_TAG and RELEASE_VERSION to the file named by
// the environment variable sinkVar, through emit (a printf format taking a
// name and a value). The version is checked first, so it is safe to quote.
func (p *plan) versionScript(tagVar, sinkVar, emit string) string {
	return fmt.Sprintf(`tag="${%[1]s:?this pipeline runs only for tags %[2]sX.Y.Z}"
version="${tag#%[2]s}"
semver='^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$'
if [ "$version" = "$tag" ] || ! [[ "$version" =~ $semver ]]; then
  echo "tag $tag is not %[2]s followed by a semver version: push a tag such as %[2]s1.2.3" >&2
  exit 1
fi
printf '%[3]s' RELEASE_TAG "$tag" RELEASE_VERSION "$version" >> "$%[4]s"
echo "Releasing version $version"
`, tagVar, p.prefix, emit, sinkVar)
}

// header is the comment at the top of a generated file: the generated-file
// notice, then paragraphs describing the pipeline, wrapped at 78 columns.
func (p *plan) header(system string, notes ...string) string {
	notice := fmt.Sprintf("Code generated by `mage ci:generate` from %s. DO NOT EDIT.\n", p.source)
	paras := append([]string{
		"Edit the release configuration, then run `go tool mage ci:generate`; " +
			"`go tool mage ci:check` fails while this file and the configuration disagree.",
		fmt.Sprintf("The %s release pipeline of %s. On a tag %sX.Y.Z the build job compiles this "+
			"toolkit once into %s, which every later job runs. One job per target (%d) builds its "+
			"target and publishes %s; beside them package-assets builds the archives' targets and "+
			"makes the standalone archives and %s, so a packaging failure never holds up npm. "+
			"publish-cli waits for every platform job and, receiving only their integrity records, "+
			"publishes %s; then come the adapter packages and the release's status. github-release "+
			"follows package-assets and publish-cli; notify posts the success notice, and a job that "+
			"fails posts a failure notice. A tag %s<name>@X.Y.Z runs the library workflow instead. "+
			"Every job exports RELEASE_TAG, and on a CLI tag RELEASE_VERSION (the tag without %s), "+
			"before it runs the toolkit.",
			system, p.cfg.CLI.Package, p.prefix, ToolkitBinary, len(p.targets), p.cfg.PlatformPackage("<target>"),
			p.cfg.Assets.Checksums, p.cfg.CLI.Package, p.cfg.Scope+"/", p.prefix),
	}, notes...)
	wrapped := make([]string, len(paras))
	for i, para := range paras {
		wrapped[i] = wrap(para, 78)
	}
	return notice + strings.Join(wrapped, "\n\n")
}

// wrap breaks text into lines of at most width columns, at spaces outside
// `code spans` (a longer word or span gets a line of its own).
func wrap(text string, width int) string {
	var words []string
	open := false
	for _, f := range strings.Fields(text) {
		if open {
			words[len(words)-1] += " " + f
		} else {
			words = append(words, f)
		}
		if strings.Count(f, "`")%2 == 1 {
			open = !open
		}
	}
	var b strings.Builder
	col := 0
	for _, w := range words {
		switch {
		case col == 0:
		case col+1+len(w) > width:
			b.WriteByte('\n')
			col = 0
		default:
			b.WriteByte(' ')
			col++
		}
		b.WriteString(w)
		col += len(w)
	}
	return b.String()
}

// Write generates both pipelines and writes them under dir, at the paths of
// the layout (RepoLayout unless WithLayout says otherwise). It is what
// `mage ci:generate` runs.
func Write(cfg *config.Config, dir string, opts ...Option) error {
	files, err := generate(cfg, opts)
	if err != nil {
		return err
	}
	for _, f := range files {
		path := filepath.Join(dir, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		if err := os.WriteFile(path, f.data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return nil
}

// Verify generates both pipelines and checks the files under dir against
// them (see Check). It is what `mage ci:check` runs.
func Verify(cfg *config.Config, dir string, opts ...Option) error {
	files, err := generate(cfg, opts)
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range files {
		if err := Check(filepath.Join(dir, filepath.FromSlash(f.path)), f.data); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

type file struct {
	path string
	data []byte
}

func generate(cfg *config.Config, opts []Option) ([]file, error) {
	o := resolve(opts)
	circle, err := CircleCI(cfg, opts...)
	if err != nil {
		return nil, err
	}
	github, err := GitHubActions(cfg, opts...)
	if err != nil {
		return nil, err
	}
	return []file{{o.Layout.CircleCI, circle}, {o.Layout.GitHub, github}}, nil
}

// YAML building blocks. Building nodes, rather than marshalling maps, keeps
// the key order fixed and the output byte-for-byte stable.

// str is a string scalar; the encoder quotes it when YAML would read it otherwise.
func str(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if strings.Contains(s, "\n") {
		n.Style = yaml.LiteralStyle
	}
	return n
}

// num is a decimal number scalar, written as given.
func num(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: s}
}

// integer is an integer scalar.
func integer(i int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: fmt.Sprint(i)}
}

func boolean(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(b)}
}

// seq is a block sequence of nodes.
func seq(items ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Content: items}
}

// strs is a block sequence of strings.
func strs(items ...string) *yaml.Node {
	n := seq()
	for _, s := range items {
		n.Content = append(n.Content, str(s))
	}
	return n
}

// kv is one mapping entry; comment, when set, is written above the key.
type kv struct {
	key     string
	value   *yaml.Node
	comment string
}

// m is a block mapping, in the order given.
func m(entries ...kv) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for _, e := range entries {
		if e.value == nil {
			continue // an entry that does not apply (kv{})
		}
		k := str(e.key)
		k.HeadComment = e.comment
		n.Content = append(n.Content, k, e.value)
	}
	return n
}

// encode writes the document with a header comment, then separates the
// top-level sections and the entries just below them with blank lines.
func encode(header string, root *yaml.Node) ([]byte, error) {
	doc := &yaml.Node{Kind: yaml.DocumentNode, HeadComment: header, Content: []*yaml.Node{root}}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode YAML: %w", err)
	}
	return spaceOut(buf.Bytes()), nil
}

// spaceOut inserts a blank line before each top-level key and before each
// second-level entry that follows a deeper line. Block scalars sit deeper
// than two levels in these documents, so their contents are never touched.
func spaceOut(data []byte) []byte {
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	out := make([]string, 0, len(lines)+32)
	prevIndent, inHeader := 0, true
	for _, line := range lines {
		if line == "" {
			out = append(out, line)
			inHeader = false
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		prev := ""
		if len(out) > 0 {
			prev = out[len(out)-1]
		}
		if !inHeader && prev != "" {
			switch {
			case indent == 0 && !strings.HasPrefix(prev, "#"):
				out = append(out, "")
			case indent == 2 && prevIndent > 2:
				out = append(out, "")
			}
		}
		out = append(out, line)
		prevIndent = indent
	}
	return []byte(strings.Join(out, "\n") + "\n")
}
