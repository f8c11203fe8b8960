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
	"os"
	"path/filepath"
	"reflect"
	"regexp"
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
	// Source is the directory of the CLI's own package.json (in
	// agent-facets, packages/cli); when that file has a version, a release
	// must be at that version. Relative to the configuration file.
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
	if c.TrustedPublisher.Provider == "" {
		c.TrustedPublisher.Provider = publisher.CircleCI
	}
	if c.Adapters.Exclude == nil {
		c.Adapters.Exclude = []string{c.CLI.PlatformPrefix + "*"}
	}
	if len(c.Targets) == 0 {
		c.Targets = platforms.Names()
	}
}

var (
	scopeRE  = regexp.MustCompile(`^@[a-z0-9][a-z0-9._~-]*$`)
	nameRE   = regexp.MustCompile(`^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$`)
	binaryRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	prefixRE = regexp.MustCompile(`^[a-z0-9._~-]*$`)
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
	for i, g := range c.Adapters.Exclude {
		if _, err := filepath.Match(g, ""); err != nil {
			return bad(fmt.Sprintf("adapters.exclude[%d]", i), "%q is not a valid glob: %v", g, err)
		}
	}
	if c.TrustedPublisher.Provider != publisher.CircleCI {
		return bad("trustedPublisher.provider", "%q is not supported: use %q", c.TrustedPublisher.Provider, publisher.CircleCI)
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
		{"cli.source", c.CLI.Source},
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

// BinaryPath returns where the built binary for target lives.
func (c *Config) BinaryPath(t platforms.Target) string {
	r := strings.NewReplacer("{dist}", c.Path(c.Dist.Dir), "{target}", t.Name, "{binary}", t.BinaryName(c.CLI.Binary))
	return filepath.FromSlash(r.Replace(c.Dist.Binary))
}
