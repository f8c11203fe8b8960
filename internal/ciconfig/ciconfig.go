// Package ciconfig generates the release pipelines for CircleCI and GitHub
// Actions from the release configuration and the platform table, and checks
// that committed pipeline files still match what would be generated.
//
// Both pipelines have the same shape: a build job that builds every target,
// one publish job per configured target (a matrix), a CLI publish job that
// waits for all of them, an adapters publish job, and a final status job.
// Every job runs a Mage target of this toolkit (`go tool mage ...`), so the
// pipelines hold no release logic of their own.
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

// Defaults for Options.
const (
	// DefaultCircleCIContext is the name of the CircleCI context the publish
	// jobs run in. Its id must be listed in trustedPublisher.contextIds.
	DefaultCircleCIContext = "bot-context"
	// DefaultGoImage is the CircleCI convenience image with Go and Node.js
	// (the "-node" variant of cimg/go).
	DefaultGoImage = "cimg/go:1.26-node"
	// DefaultNodeVersion is the Node.js release installed on GitHub Actions.
	DefaultNodeVersion = "24"
	// DefaultNPMVersion is the npm release every job installs. Trusted
	// publishing from CircleCI needs npm 11.11.0 or newer.
	DefaultNPMVersion = "11.11.0"
	// DefaultBunVersion is the Bun release installed when the build command
	// runs bun.
	DefaultBunVersion = "1.4.4"
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

// Options tune the generated pipelines. The zero value of a field means its default.
type Options struct {
	// CircleCIContext is the name of the CircleCI context the publish jobs
	// run in (workflow "context:" takes a name, not the id in release.json).
	// Default "bot-context".
	CircleCIContext string
	// GoImage is the CircleCI Docker image: it must hold Go, Node.js, npm
	// and sudo. Default "cimg/go:1.26-node".
	GoImage string
	// NodeVersion is the Node.js version set up on GitHub Actions. Default "24".
	NodeVersion string
	// NPMVersion is the npm version installed in every job; at least 11.11.0.
	// Default "11.11.0".
	NPMVersion string
	// BunVersion is the Bun version installed for the build when the build
	// command runs bun. Default "1.4.4".
	BunVersion string
	// Layout places the files for Write and Verify. Default RepoLayout.
	Layout Layout
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

func resolve(opts []Option) (Options, error) {
	o := Options{
		CircleCIContext: DefaultCircleCIContext,
		GoImage:         DefaultGoImage,
		NodeVersion:     DefaultNodeVersion,
		NPMVersion:      DefaultNPMVersion,
		BunVersion:      DefaultBunVersion,
		Layout:          RepoLayout,
	}
	for _, opt := range opts {
		opt(&o)
	}
	v, err := semver.StrictNewVersion(o.NPMVersion)
	if err != nil || v.LessThan(minNPM) {
		return o, fmt.Errorf("ci options: npm version %q: want an exact version, 11.11.0 or newer (trusted publishing from CircleCI needs it)", o.NPMVersion)
	}
	if _, err := semver.StrictNewVersion(o.BunVersion); err != nil {
		return o, fmt.Errorf("ci options: bun version %q: want an exact version such as %s", o.BunVersion, DefaultBunVersion)
	}
	for _, f := range []struct{ name, v string }{
		{"CircleCI context", o.CircleCIContext},
		{"Go image", o.GoImage},
		{"Node.js version", o.NodeVersion},
	} {
		if strings.TrimSpace(f.v) == "" || strings.ContainsAny(f.v, "\n\r") {
			return o, fmt.Errorf("ci options: %s %q must be a non-empty single line", f.name, f.v)
		}
	}
	if o.Layout.CircleCI == "" || o.Layout.GitHub == "" || o.Layout.CircleCI == o.Layout.GitHub {
		return o, fmt.Errorf("ci options: layout %+v needs two different file paths", o.Layout)
	}
	return o, nil
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
	source   string // the configuration file's base name, for the header
	prefix   string // the tag prefix
	dist     string // the dist directory, relative to the repository root
	targets  []string
	bunBuild bool
	staged   bool // release.mode stage
}

func newPlan(cfg *config.Config, opts []Option) (*plan, error) {
	if cfg == nil {
		return nil, errors.New("generate CI configuration: no release configuration given")
	}
	o, err := resolve(opts)
	if err != nil {
		return nil, err
	}
	p := &plan{cfg: cfg, opts: o, source: config.DefaultFile, prefix: cfg.Release.TagPrefix}
	if cfg.File != "" {
		p.source = filepath.Base(cfg.File)
	}
	if !safeTagPrefix.MatchString(p.prefix) {
		return nil, fmt.Errorf("generate CI configuration from %s: release.tagPrefix %q may hold only letters, digits and @ . _ / -: change it, e.g. to %q", p.source, p.prefix, cfg.CLI.Package+"@")
	}
	dist := filepath.ToSlash(filepath.Clean(cfg.Dist.Dir))
	if filepath.IsAbs(cfg.Dist.Dir) || dist == "." || dist == ".." || strings.HasPrefix(dist, "../") || !safeRelPath.MatchString(dist) {
		return nil, fmt.Errorf("generate CI configuration from %s: dist.dir %q must be a plain path inside the repository (letters, digits, . _ / -), e.g. \"dist\"", p.source, cfg.Dist.Dir)
	}
	p.dist = dist
	if len(cfg.Targets) == 0 {
		return nil, fmt.Errorf("generate CI configuration from %s: no targets: list them in \"targets\"", p.source)
	}
	for _, t := range cfg.Targets {
		if _, err := cfg.Target(t); err != nil {
			return nil, fmt.Errorf("generate CI configuration from %s: %w", p.source, err)
		}
	}
	p.targets = append([]string(nil), cfg.Targets...)
	p.bunBuild = len(cfg.Build.Command) > 0 && cfg.Build.Command[0] == "bun"
	if err := p.stageMode(); err != nil {
		return nil, err
	}
	return p, nil
}

// TagRegexp returns the regular expression, without CircleCI's surrounding
// slashes, that a release tag matches: the tag prefix, then a version.
func TagRegexp(cfg *config.Config) string {
	return `^` + regexp.QuoteMeta(cfg.Release.TagPrefix) + `\d+\.\d+\.\d+.*$`
}

// tagGlob is the GitHub Actions filter pattern for a release tag. The prefix
// holds no glob metacharacters (safeTagPrefix).
func (p *plan) tagGlob() string {
	return p.prefix + "[0-9]+.[0-9]+.[0-9]+*"
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
		fmt.Sprintf("The %s release pipeline of %s. A tag %sX.Y.Z builds every target, "+
			"publishes the %d platform packages %s (one job per target), then the CLI package %s "+
			"once every platform package is published, then the adapter packages, and prints "+
			"the release's status. Every job exports RELEASE_TAG and RELEASE_VERSION (the tag "+
			"without %s) before it runs Mage.",
			system, p.cfg.CLI.Package, p.prefix, len(p.targets), p.cfg.PlatformPackage("<target>"),
			p.cfg.CLI.Package, p.prefix),
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
	o, err := resolve(opts)
	if err != nil {
		return nil, err
	}
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
