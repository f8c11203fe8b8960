// Package config loads the release configuration: the one file that holds
// everything specific to the project being released (npm scope, package and
// binary names, targets, adapter discovery, trusted publisher, dist layout and
// build command). Decoding is strict: every mistake is reported with the file
// and the field that holds it.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/agent-facets/release/internal/publisher"
	"github.com/agent-facets/release/internal/version"
	"github.com/agent-facets/release/platforms"
)

// DefaultFile is the configuration file's name at the repository root.
const DefaultFile = "release.json"

// Config is the decoded release configuration.
type Config struct {
	// Scope is the npm scope of the platform and adapter packages, e.g. "@agent-facets".
	Scope string `json:"scope"`
	CLI   CLI    `json:"cli"`
	// Targets names the platform targets to release, from the platforms table.
	Targets          []string           `json:"targets"`
	Adapters         Adapters           `json:"adapters"`
	TrustedPublisher publisher.Identity `json:"trustedPublisher"`
	Dist             Dist               `json:"dist"`
	Build            Build              `json:"build"`
	Release          Release            `json:"release"`
	Assets           Assets             `json:"assets"`
	GitHub           GitHub             `json:"github"`
	Slack            Slack              `json:"slack"`
	CI               CI                 `json:"ci"`

	// Dir is the directory holding the configuration file; relative paths
	// in the file are resolved against it.
	Dir string `json:"-"`
	// File is the path the configuration was read from, for messages.
	File string `json:"-"`
}

// CLI describes the main package and its native binary.
type CLI struct {
	// Package is the npm name of the CLI package users install, e.g. "agent-facets".
	Package string `json:"package"`
	// Binary is the command name and native binary's base name, e.g. "facet".
	Binary string `json:"binary"`
	// PlatformPrefix precedes the target name in platform package names:
	// Scope + "/" + PlatformPrefix + target, e.g. "@agent-facets/cli-linux-x64".
	PlatformPrefix string `json:"platformPrefix"`
	// Description is used in the generated package.json files.
	Description string `json:"description"`
	// Entry is the source entry point handed to the build command as {entry}.
	Entry string `json:"entry"`
	// Source is the directory of the CLI's source package in the adapters
	// workspace, relative to the workspace root (in agent-facets,
	// "packages/cli"): when its package.json has a version, a release must
	// be at that version; publishCLI refuses while a public workspace
	// package it depends on is not on the registry, and a CLI tag's library
	// release releases those. Empty: no such checks.
	Source string `json:"source"`
}

// Adapters says where library packages come from.
type Adapters struct {
	// Workspace is a directory whose package.json "workspaces" globs list the
	// monorepo's packages; public packages in Scope are adapters.
	Workspace string `json:"workspace"`
	// Exclude holds globs of unscoped names (after "<scope>/") that are not
	// adapters, e.g. "cli-*".
	Exclude []string `json:"exclude"`
	// Packages, when set, is the explicit list of adapter package names and
	// replaces workspace discovery.
	Packages []string `json:"packages"`
	// Build is the argv that builds one library package before it is
	// packed, run in the package's directory, with placeholders {name},
	// {dir}, {version} and {root} (the workspace root). Empty: the
	// package's own "build" script, run with the workspace's package
	// manager (`bun run build`); nothing for a package without one.
	Build []string `json:"build"`
	// Prepack runs each library package's prepack and postpack scripts
	// around its pack, in a staging copy of the package.
	Prepack bool `json:"prepack"`
}

// Dist is where built binaries and staged packages live.
type Dist struct {
	// Dir is the dist root, relative to the configuration file.
	Dir string `json:"dir"`
	// Binary is the built binary's path pattern, with {dist}, {target} and {binary}.
	Binary string `json:"binary"`
}

// Build is the command that compiles one target's binary.
type Build struct {
	// Command is the argv, with placeholders {target}, {bunTarget}, {goos},
	// {goarch}, {goamd64}, {out}, {entry}, {version}, {binary}.
	Command []string `json:"command"`
	// Env adds environment variables (values take the same placeholders).
	Env map[string]string `json:"env"`
	// Dir is the working directory, relative to the configuration file.
	Dir string `json:"dir"`
}

// Release holds publishing policy.
type Release struct {
	// TagPrefix precedes the version in the release's git tag, e.g. "agent-facets@".
	TagPrefix string `json:"tagPrefix"`
	// PrereleaseTag is the dist-tag a prerelease version is published under.
	PrereleaseTag string `json:"prereleaseTag"`
	License       string `json:"license"`
	Repository    string `json:"repository"`
	// PlaceholderVersion is the version seeding publishes for a missing package.
	PlaceholderVersion string `json:"placeholderVersion"`
	// PackageURL is a released package's page for people, with {package}
	// and {version}; release notices link to it. No link when empty.
	PackageURL string `json:"packageURL"`
	// Mode is how CI releases: "direct" (publish) or "stage" (stage for a
	// maintainer's approval); see ModeDirect and ModeStage.
	Mode string `json:"mode"`
}

// Assets are the standalone archives releaseAssets makes from the built
// binaries, and their checksums file.
type Assets struct {
	// Dir is where the archives and the checksums file go, relative to the
	// configuration file; releaseAssets clears it first. Default
	// <dist.dir>/assets.
	Dir string `json:"dir"`
	// Archives maps each archive's target (the <target> of
	// <binary>-<target>.tar.gz or .zip) to the configured target whose
	// binary it holds. Default: DefaultArchives, for the configured targets.
	// An empty object makes no archives.
	Archives map[string]string `json:"archives"`
	// Checksums is the checksums file's name (default checksums.txt).
	Checksums string `json:"checksums"`
}

// GitHub says where githubRelease creates the release. Credentials never
// live here: GITHUB_TOKEN (or GH_TOKEN), or a GitHub App's private key in
// GITHUB_APP_PRIVATE_KEY.
type GitHub struct {
	// Repository is "owner/name". Default: release.repository when it is a
	// github.com URL.
	Repository string `json:"repository"`
	// APIURL is the REST API's base URL; for GitHub Enterprise Server
	// "https://HOST/api/v3/". Default: GITHUB_API_URL, else GitHub's.
	APIURL string `json:"apiURL"`
	// UploadURL is the base URL of asset uploads. Default: GitHub's upload
	// host for GitHub's API, "https://HOST/api/uploads/" for an Enterprise
	// Server's, else APIURL.
	UploadURL string `json:"uploadURL"`
	// Changelog is the file whose section for the version becomes the
	// release notes, relative to the configuration file. Default:
	// CHANGELOG.md of the CLI's source package (cli.source, else the
	// workspace package named cli.package), else CHANGELOG.md beside the
	// configuration.
	Changelog string `json:"changelog"`
	// AppID is a GitHub App's client ID or app ID, to authenticate as the
	// App (with GITHUB_APP_PRIVATE_KEY); GITHUB_APP_ID overrides it.
	AppID string `json:"appId"`
	// InstallationID is the App's installation on the repository;
	// GITHUB_APP_INSTALLATION_ID overrides it. Default: looked up from the
	// repository.
	InstallationID string `json:"installationId"`
}

// Slack says where release notices go. Credentials never live here: a bot
// token in SLACK_BOT_TOKEN (posting to Channel), or an incoming webhook's
// URL in SLACK_WEBHOOK_URL (posting to its own channel).
type Slack struct {
	// Channel is the channel (name or ID) the bot token posts to.
	Channel string `json:"channel"`
	// APIURL is Slack's Web API base URL (default https://slack.com/api/).
	APIURL string `json:"apiURL"`
}

// CI tunes the generated CircleCI pipeline (mage ci:generate).
type CI struct {
	// Contexts are the CircleCI contexts the jobs run in.
	Contexts CIContexts `json:"contexts"`
	// ResourceClasses maps a job (build, publish-platform, package-assets,
	// publish-cli, ...) to its CircleCI resource class; the others keep
	// theirs (medium where the job compiles, small elsewhere).
	ResourceClasses map[string]string `json:"resourceClasses"`
	// SerialGroup names the CircleCI serial groups of the jobs two releases
	// must never run at once: SerialGroup + "/npm" for publishing,
	// SerialGroup + "/github" for the GitHub Release. Default
	// "<< pipeline.project.slug >>/release"; "none" for no serial groups.
	SerialGroup string `json:"serialGroup"`
}

// CIContexts name the CircleCI contexts of the jobs: Publish holds what
// trusted publishing needs (its id is in trustedPublisher.contextIds),
// GitHub the GitHub credentials, Slack the Slack credentials. Defaults
// bot-context, github and slack-secrets.
type CIContexts struct {
	Publish string `json:"publish"`
	GitHub  string `json:"github"`
	Slack   string `json:"slack"`
}

// Archive is one standalone archive: its target name and the configured
// target whose binary it holds.
type Archive struct {
	Name string
	From platforms.Target
}

// Error is a configuration mistake, naming the file and the field.
type Error struct {
	File  string
	Field string
	Msg   string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", e.File, e.Field, e.Msg)
}

// Load reads and validates the configuration file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("release configuration %s not found: create it (see README, \"Configuration\") or pass its path with RELEASE_CONFIG", path)
		}
		return nil, fmt.Errorf("read release configuration: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, filepath.Dir(abs), data)
}

// Parse decodes and validates configuration bytes. name is used in messages;
// dir resolves relative paths.
func Parse(name, dir string, data []byte) (*Config, error) {
	var raw any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, &Error{File: name, Msg: describeJSONError(data, err)}
	}
	if dec.More() {
		return nil, &Error{File: name, Msg: "unexpected data after the JSON object"}
	}
	if err := checkDuplicates(name, data); err != nil {
		return nil, err
	}
	if err := checkKeys(name, "", raw, reflect.TypeOf(Config{})); err != nil {
		return nil, err
	}
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, &Error{File: name, Field: te.Field, Msg: fmt.Sprintf("wrong type: want %s, got JSON %s", te.Type, te.Value)}
		}
		return nil, &Error{File: name, Msg: err.Error()}
	}
	c.File, c.Dir = name, dir
	if c.Targets != nil && len(c.Targets) == 0 {
		return nil, &Error{File: name, Field: "targets", Msg: "is empty: list the targets to release, or leave the key out to release all " + fmt.Sprint(len(platforms.Names()))}
	}
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func describeJSONError(data []byte, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := position(data, se.Offset)
		return fmt.Sprintf("invalid JSON at line %d, column %d: %v", line, col, err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		line, col := position(data, te.Offset)
		return fmt.Sprintf("invalid JSON at line %d, column %d: %v", line, col, err)
	}
	if errors.Is(err, io.EOF) {
		return "the file is empty: it must hold a JSON object"
	}
	return "invalid JSON: " + err.Error()
}

func position(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// checkDuplicates rejects an object holding the same key twice (JSON
// decoding would keep the last one silently), naming the key's path.
func checkDuplicates(file string, data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var walk func(path string) error
	walk = func(path string) error {
		tok, err := dec.Token()
		if err != nil {
			return &Error{File: file, Msg: describeJSONError(data, err)}
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return &Error{File: file, Msg: describeJSONError(data, err)}
				}
				k, _ := kt.(string)
				if seen[k] {
					line, col := position(data, dec.InputOffset())
					return &Error{File: file, Field: join(path, k), Msg: fmt.Sprintf("the key is there twice (again at line %d, column %d); JSON readers keep one of them silently: remove one", line, col)}
				}
				seen[k] = true
				if err := walk(join(path, k)); err != nil {
					return err
				}
			}
			_, err = dec.Token() // '}'
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if err := walk(fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
			_, err = dec.Token() // ']'
		}
		if err != nil {
			return &Error{File: file, Msg: describeJSONError(data, err)}
		}
		return nil
	}
	return walk("")
}

// checkKeys walks the decoded JSON and rejects keys the struct type does not
// declare, naming the full path of the unknown key.
func checkKeys(file, path string, v any, t reflect.Type) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			if v == nil {
				return nil
			}
			return &Error{File: file, Field: orRoot(path), Msg: fmt.Sprintf("must be an object, got %s", jsonKind(v))}
		}
		fields := map[string]reflect.StructField{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name := strings.Split(f.Tag.Get("json"), ",")[0]
			if name == "" || name == "-" {
				continue
			}
			fields[name] = f
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			f, ok := fields[k]
			if !ok {
				known := make([]string, 0, len(fields))
				for n := range fields {
					known = append(known, n)
				}
				sort.Strings(known)
				return &Error{File: file, Field: join(path, k), Msg: fmt.Sprintf("unknown key; known keys here are %s", strings.Join(known, ", "))}
			}
			if err := checkKeys(file, join(path, k), obj[k], f.Type); err != nil {
				return err
			}
		}
	case reflect.Slice:
		arr, ok := v.([]any)
		if !ok {
			if v == nil {
				return nil
			}
			return &Error{File: file, Field: orRoot(path), Msg: fmt.Sprintf("must be an array, got %s", jsonKind(v))}
		}
		for i, e := range arr {
			if err := checkKeys(file, fmt.Sprintf("%s[%d]", path, i), e, t.Elem()); err != nil {
				return err
			}
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			if v == nil {
				return nil
			}
			return &Error{File: file, Field: orRoot(path), Msg: fmt.Sprintf("must be an object, got %s", jsonKind(v))}
		}
		for k, e := range obj {
			if err := checkKeys(file, join(path, k), e, t.Elem()); err != nil {
				return err
			}
		}
	case reflect.String:
		if _, ok := v.(string); !ok && v != nil {
			return &Error{File: file, Field: orRoot(path), Msg: fmt.Sprintf("must be a string, got %s", jsonKind(v))}
		}
	}
	return nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func orRoot(path string) string {
	if path == "" {
		return "(top level)"
	}
	return path
}

func (c *Config) applyDefaults() {
	if c.CLI.PlatformPrefix == "" {
		c.CLI.PlatformPrefix = "cli-"
	}
	if c.Dist.Dir == "" {
		c.Dist.Dir = "dist"
	}
	if c.Dist.Binary == "" {
		c.Dist.Binary = "{dist}/{target}/{binary}"
	}
	if c.Release.PrereleaseTag == "" {
		c.Release.PrereleaseTag = "next"
	}
	if c.Release.PlaceholderVersion == "" {
		c.Release.PlaceholderVersion = "0.0.1"
	}
	if c.Release.TagPrefix == "" {
		c.Release.TagPrefix = c.CLI.Package + "@"
	}
	if c.Release.Mode == "" {
		c.Release.Mode = ModeDirect
	}
	if c.TrustedPublisher.Provider == "" {
		c.TrustedPublisher.Provider = publisher.CircleCI
	}
	if c.Adapters.Exclude == nil {
		c.Adapters.Exclude = []string{c.CLI.PlatformPrefix + "*"}
	}
	if len(c.Targets) == 0 {
		c.Targets = platforms.Names()
	}
	if c.Assets.Checksums == "" {
		c.Assets.Checksums = "checksums.txt"
	}
	if c.Slack.APIURL == "" {
		c.Slack.APIURL = DefaultSlackAPI
	}
	if c.GitHub.Repository == "" {
		c.GitHub.Repository = githubRepository(c.Release.Repository)
	}
	ctx := &c.CI.Contexts
	for _, f := range []struct {
		dst *string
		def string
	}{{&ctx.Publish, "bot-context"}, {&ctx.GitHub, "github"}, {&ctx.Slack, "slack-secrets"}, {&c.CI.SerialGroup, "<< pipeline.project.slug >>/release"}} {
		if *f.dst == "" {
			*f.dst = f.def
		}
	}
}

// DefaultSlackAPI is the base URL of Slack's Web API.
const DefaultSlackAPI = "https://slack.com/api/"

// githubRepository is "owner/name" of a github.com repository URL, else "".
func githubRepository(u string) string {
	rest, ok := strings.CutPrefix(strings.TrimSuffix(u, ".git"), "https://github.com/")
	if !ok {
		return ""
	}
	if owner, name, ok := strings.Cut(strings.Trim(rest, "/"), "/"); ok && repoPartRE.MatchString(owner) && repoPartRE.MatchString(name) {
		return owner + "/" + name
	}
	return ""
}

// DefaultArchives is the default of assets.archives, as agent-facets ships
// today: one archive per OS, CPU and C library, every x64 archive from the
// -baseline build so that it runs on any x64 CPU.
func DefaultArchives() map[string]string {
	out := map[string]string{}
	for _, t := range platforms.Table {
		if t.Baseline {
			continue
		}
		from := t.Name
		if t.CPU == "x64" {
			from = baselineTwin(t).Name
		}
		out[t.Name] = from
	}
	return out
}

// baselineTwin is the -baseline build of an x64 target's OS and libc.
func baselineTwin(t platforms.Target) platforms.Target {
	for _, b := range platforms.Table {
		if b.Baseline && b.OS == t.OS && b.CPU == t.CPU && b.Libc == t.Libc {
			return b
		}
	}
	return t
}

// ArchiveList returns the archives to make, sorted by name: assets.archives,
// or by default the DefaultArchives whose binary is a configured target.
func (c *Config) ArchiveList() []Archive {
	m := c.Assets.Archives
	explicit := m != nil
	if !explicit {
		m = DefaultArchives()
	}
	var out []Archive
	for _, name := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(c.Targets, m[name]) {
			continue // validated when explicit
		}
		from, _ := platforms.Lookup(m[name])
		out = append(out, Archive{Name: name, From: from})
	}
	return out
}

// AssetsDir is where releaseAssets writes the archives and checksums.
func (c *Config) AssetsDir() string {
	if c.Assets.Dir != "" {
		return c.Path(c.Assets.Dir)
	}
	return filepath.Join(c.Path(c.Dist.Dir), "assets")
}

var (
	scopeRE  = regexp.MustCompile(`^@[a-z0-9][a-z0-9._~-]*$`)
	nameRE   = regexp.MustCompile(`^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$`)
	binaryRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	prefixRE = regexp.MustCompile(`^[a-z0-9._~-]*$`)
	// repoPartRE is a GitHub owner or repository name.
	repoPartRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	// fileNameRE is a plain file name.
	fileNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	// appIDRE is a GitHub App's app ID (digits) or client ID.
	appIDRE  = regexp.MustCompile(`^[A-Za-z0-9.]+$`)
	digitsRE = regexp.MustCompile(`^[0-9]+$`)
	// resourceClassRE is a CircleCI resource class (medium, arm.large, org/runner).
	resourceClassRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.+_/-]*$`)
)

// ValidPackageName reports whether name is a valid npm package name for a
// new package (lowercase, URL-safe, at most 214 characters).
func ValidPackageName(name string) bool {
	return len(name) <= 214 && nameRE.MatchString(name)
}

// Validate checks every field and returns the first mistake found.
func (c *Config) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &Error{File: c.File, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	if !scopeRE.MatchString(c.Scope) {
		return bad("scope", "%q is not an npm scope: want \"@name\" in lowercase, e.g. \"@agent-facets\"", c.Scope)
	}
	if !ValidPackageName(c.CLI.Package) {
		return bad("cli.package", "%q is not a valid npm package name (lowercase letters, digits, '-', '.', '_', '~', at most 214 characters)", c.CLI.Package)
	}
	if !binaryRE.MatchString(c.CLI.Binary) {
		return bad("cli.binary", "%q is not a valid command name (letters, digits, '.', '_', '-')", c.CLI.Binary)
	}
	if !prefixRE.MatchString(c.CLI.PlatformPrefix) {
		return bad("cli.platformPrefix", "%q may hold only lowercase letters, digits, '-', '.', '_', '~'", c.CLI.PlatformPrefix)
	}
	seen := map[string]bool{}
	for i, name := range c.Targets {
		field := fmt.Sprintf("targets[%d]", i)
		if _, err := platforms.Lookup(name); err != nil {
			return bad(field, "%v", err)
		}
		if seen[name] {
			return bad(field, "target %q is listed twice", name)
		}
		seen[name] = true
	}
	for i, name := range c.Adapters.Packages {
		field := fmt.Sprintf("adapters.packages[%d]", i)
		if !ValidPackageName(name) {
			return bad(field, "%q is not a valid npm package name", name)
		}
		if !strings.HasPrefix(name, c.Scope+"/") {
			return bad(field, "%q is outside the scope %s", name, c.Scope)
		}
	}
	if len(c.Adapters.Build) > 0 && strings.TrimSpace(c.Adapters.Build[0]) == "" {
		return bad("adapters.build", "the program (the first element) is empty: give the argv that builds one package, e.g. [\"bun\", \"run\", \"build\"]")
	}
	if src := filepath.ToSlash(c.CLI.Source); src != "" && (filepath.IsAbs(c.CLI.Source) || src == ".." || strings.HasPrefix(src, "../")) {
		return bad("cli.source", "%q must be a directory inside the adapters workspace, relative to its root (e.g. \"packages/cli\")", c.CLI.Source)
	}
	for i, g := range c.Adapters.Exclude {
		if _, err := filepath.Match(g, ""); err != nil {
			return bad(fmt.Sprintf("adapters.exclude[%d]", i), "%q is not a valid glob: %v", g, err)
		}
	}
	if err := c.TrustedPublisher.Validate(); err != nil {
		var fe *publisher.FieldError
		if errors.As(err, &fe) {
			return bad("trustedPublisher."+fe.Field, "%s", fe.Msg)
		}
		return bad("trustedPublisher", "%v", err)
	}
	if len(c.Build.Command) == 0 {
		return bad("build.command", "is empty: give the argv that builds one target, e.g. [\"bun\", \"build\", \"--compile\", \"--target={bunTarget}\", \"--outfile\", \"{out}\", \"{entry}\"]")
	}
	if !strings.Contains(strings.Join(c.Build.Command, " "), "{out}") {
		return bad("build.command", "never mentions {out}: the command must write the binary to the path {out}")
	}
	for _, ph := range []string{"{target}", "{binary}"} {
		if !strings.Contains(c.Dist.Binary, ph) {
			return bad("dist.binary", "%q must contain %s so every target gets its own binary", c.Dist.Binary, ph)
		}
	}
	if err := version.CheckTag(c.Release.PrereleaseTag); err != nil {
		return bad("release.prereleaseTag", "%v", err)
	}
	for _, p := range []struct{ field, path string }{
		{"dist.dir", c.Dist.Dir},
		{"build.dir", c.Build.Dir},
		{"adapters.workspace", c.Adapters.Workspace},
		{"cli.source", filepath.Join(c.Adapters.Workspace, c.CLI.Source)},
	} {
		if err := inside(p.path); err != nil {
			return bad(p.field, "%v", err)
		}
	}
	if rest, ok := strings.CutPrefix(filepath.ToSlash(c.Dist.Binary), "{dist}"); ok {
		if rest = strings.TrimPrefix(rest, "/"); rest == "" || !filepath.IsLocal(filepath.FromSlash(rest)) {
			return bad("dist.binary", "%q leaves {dist}: binaries go inside the dist directory", c.Dist.Binary)
		}
	} else if err := inside(c.Dist.Binary); err != nil {
		return bad("dist.binary", "%v", err)
	}
	if _, err := version.Validate(c.Release.PlaceholderVersion); err != nil {
		return bad("release.placeholderVersion", "%v", err)
	}
	if u := c.Release.PackageURL; u != "" && (!strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") || !strings.Contains(u, "{package}")) {
		return bad("release.packageURL", "%q must be an http(s) URL containing {package} (and usually {version})", u)
	}
	if err := CheckMode(c.Release.Mode); err != nil {
		return bad("release.mode", "%v", err)
	}
	return c.validateRelease(bad)
}

// validateRelease checks the assets, github and slack sections.
func (c *Config) validateRelease(bad func(field, format string, args ...any) error) error {
	if d := c.Assets.Dir; d != "" {
		abs := c.Path(d)
		if rel, err := filepath.Rel(abs, c.Dir); err == nil && (rel == "." || !strings.HasPrefix(rel, "..")) {
			return bad("assets.dir", "%q is the configuration's directory or holds it; releaseAssets clears this directory first: give a directory of its own, e.g. \"dist/assets\"", d)
		}
	}
	if !fileNameRE.MatchString(c.Assets.Checksums) {
		return bad("assets.checksums", "%q is not a plain file name such as checksums.txt", c.Assets.Checksums)
	}
	for _, name := range slices.Sorted(maps.Keys(c.Assets.Archives)) {
		field := "assets.archives." + name
		archive, err := platforms.Lookup(name)
		if err != nil {
			return bad(field, "%v", err)
		}
		from := c.Assets.Archives[name]
		if !slices.Contains(c.Targets, from) {
			return bad(field, "%q is not a configured target: name one of %s", from, strings.Join(c.Targets, ", "))
		}
		src, _ := platforms.Lookup(from)
		if src.OS != archive.OS || src.CPU != archive.CPU || src.Libc != archive.Libc {
			return bad(field, "the %s binary does not run where %s does (OS, CPU or C library differ): use a build of the same platform, e.g. %q", from, name, baselineTwin(archive).Name)
		}
	}
	g := c.GitHub
	if g.Repository != "" {
		owner, name, ok := strings.Cut(g.Repository, "/")
		if !ok || !repoPartRE.MatchString(owner) || !repoPartRE.MatchString(name) {
			return bad("github.repository", "%q is not \"owner/name\"", g.Repository)
		}
	}
	for _, f := range []struct{ field, v string }{{"github.apiURL", g.APIURL}, {"github.uploadURL", g.UploadURL}, {"slack.apiURL", c.Slack.APIURL}} {
		if f.v != "" && !strings.HasPrefix(f.v, "https://") && !strings.HasPrefix(f.v, "http://") {
			return bad(f.field, "%q is not an http(s) URL", f.v)
		}
	}
	if g.AppID != "" && !appIDRE.MatchString(g.AppID) {
		return bad("github.appId", "%q is neither a GitHub App's app ID (digits) nor its client ID", g.AppID)
	}
	if g.InstallationID != "" && !digitsRE.MatchString(g.InstallationID) {
		return bad("github.installationId", "%q is not an installation ID (digits)", g.InstallationID)
	}
	if ch := c.Slack.Channel; ch != "" && strings.ContainsAny(ch, " \t\n") {
		return bad("slack.channel", "%q is not a channel name or ID", ch)
	}
	for _, f := range []struct{ field, v string }{
		{"ci.contexts.publish", c.CI.Contexts.Publish}, {"ci.contexts.github", c.CI.Contexts.GitHub},
		{"ci.contexts.slack", c.CI.Contexts.Slack}, {"ci.serialGroup", c.CI.SerialGroup},
	} {
		if strings.TrimSpace(f.v) == "" || strings.ContainsAny(f.v, "\n\r") {
			return bad(f.field, "%q must be a non-empty single line", f.v)
		}
	}
	for _, job := range slices.Sorted(maps.Keys(c.CI.ResourceClasses)) {
		if rc := c.CI.ResourceClasses[job]; !resourceClassRE.MatchString(rc) {
			return bad("ci.resourceClasses."+job, "%q is not a CircleCI resource class such as small, medium or large", rc)
		}
	}
	return nil
}

// inside checks that a relative path from the configuration stays in the
// repository (the configuration file's directory): "../x" and the like are
// refused, absolute paths are taken as written.
func inside(p string) error {
	if p == "" || filepath.IsAbs(p) || filepath.IsLocal(filepath.FromSlash(p)) || filepath.Clean(filepath.FromSlash(p)) == "." {
		return nil
	}
	return fmt.Errorf("%q leaves the repository (the directory of the configuration file): keep relative paths inside it, or write an absolute path if you mean one outside", p)
}

// PlatformPackage returns the npm name of a target's platform package.
func (c *Config) PlatformPackage(target string) string {
	return c.Scope + "/" + c.CLI.PlatformPrefix + target
}

// PlatformTargets returns the configured targets from the platforms table.
func (c *Config) PlatformTargets() []platforms.Target {
	out := make([]platforms.Target, 0, len(c.Targets))
	for _, name := range c.Targets {
		t, _ := platforms.Lookup(name) // validated in Validate
		out = append(out, t)
	}
	return out
}

// Target returns a configured target by name, with an error that lists the
// configured ones.
func (c *Config) Target(name string) (platforms.Target, error) {
	for _, t := range c.Targets {
		if t == name {
			return platforms.Lookup(name)
		}
	}
	if _, err := platforms.Lookup(name); err == nil {
		return platforms.Target{}, fmt.Errorf("target %q is not configured in %s: add it to \"targets\" or use one of %s", name, c.File, strings.Join(c.Targets, ", "))
	}
	return platforms.Target{}, fmt.Errorf("unknown target %q: use one of %s", name, strings.Join(c.Targets, ", "))
}

// PlatformPackages returns every platform package name, in target order.
func (c *Config) PlatformPackages() []string {
	out := make([]string, len(c.Targets))
	for i, t := range c.Targets {
		out[i] = c.PlatformPackage(t)
	}
	return out
}

// Path resolves a path from the configuration file against its directory.
func (c *Config) Path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// SourceDir returns the directory of the CLI's source package (cli.source
// inside the adapters workspace), or "" when cli.source is not set.
func (c *Config) SourceDir() string {
	if c.CLI.Source == "" {
		return ""
	}
	return c.Path(filepath.Join(c.Adapters.Workspace, filepath.FromSlash(c.CLI.Source)))
}

// BinaryPath returns where the built binary for target lives.
func (c *Config) BinaryPath(t platforms.Target) string {
	r := strings.NewReplacer("{dist}", c.Path(c.Dist.Dir), "{target}", t.Name, "{binary}", t.BinaryName(c.CLI.Binary))
	return filepath.FromSlash(r.Replace(c.Dist.Binary))
}
