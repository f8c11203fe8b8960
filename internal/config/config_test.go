package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func loadRepoConfig(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", DefaultFile))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRepositoryConfigIsValid(t *testing.T) {
	c, err := Load(filepath.Join("..", "..", DefaultFile))
	if err != nil {
		t.Fatal(err)
	}
	if c.CLI.Package != "agent-facets" || c.CLI.Binary != "facet" || len(c.Targets) != 12 {
		t.Errorf("unexpected config: %+v", c.CLI)
	}
	if c.CLI.Source != "packages/cli" || len(c.Adapters.Build) != 0 || c.Adapters.Prepack {
		t.Errorf("libraries: cli.source %q, adapters.build %v, adapters.prepack %v", c.CLI.Source, c.Adapters.Build, c.Adapters.Prepack)
	}
	if got := c.PlatformPackage("linux-x64-musl"); got != "@agent-facets/cli-linux-x64-musl" {
		t.Errorf("PlatformPackage = %q", got)
	}
	tg, _ := c.Target("windows-x64")
	if got := c.BinaryPath(tg); !strings.HasSuffix(got, filepath.FromSlash("dist/windows-x64/facet.exe")) {
		t.Errorf("BinaryPath = %q", got)
	}
}

// TestInvalid feeds each class of mistake and checks the message names the
// file, the field and what is wrong.
func TestInvalid(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(m map[string]any)
		want   []string
	}{
		{"unknown top-level key", func(m map[string]any) { m["scopes"] = "x" }, []string{"release.json: scopes: unknown key"}},
		{"unknown nested key", func(m map[string]any) { m["cli"].(map[string]any)["bin"] = "x" }, []string{"cli.bin: unknown key", "known keys here are binary"}},
		{"malformed uuid", func(m map[string]any) { m["trustedPublisher"].(map[string]any)["orgId"] = "bfa561da-d33e" }, []string{"trustedPublisher.orgId", `"bfa561da-d33e" is not a UUID`}},
		{"malformed context uuid", func(m map[string]any) {
			m["trustedPublisher"].(map[string]any)["contextIds"] = []any{"nope"}
		}, []string{"trustedPublisher.contextIds[0]", "not a UUID"}},
		{"unknown target", func(m map[string]any) { m["targets"] = []any{"linux-x64", "linux-riscv64"} }, []string{"targets[1]", `unknown target "linux-riscv64"`, "linux-x64-baseline-musl"}},
		{"duplicate target", func(m map[string]any) { m["targets"] = []any{"linux-x64", "linux-x64"} }, []string{"targets[1]", "listed twice"}},
		{"bad package name", func(m map[string]any) { m["cli"].(map[string]any)["package"] = "Agent Facets" }, []string{"cli.package", `"Agent Facets" is not a valid npm package name`}},
		{"bad scope", func(m map[string]any) { m["scope"] = "agent-facets" }, []string{"scope", "not an npm scope"}},
		{"adapter outside scope", func(m map[string]any) { m["adapters"].(map[string]any)["packages"] = []any{"@other/adapter"} }, []string{"adapters.packages[0]", "outside the scope @agent-facets"}},
		{"vcs origin with scheme", func(m map[string]any) {
			m["trustedPublisher"].(map[string]any)["vcsOrigin"] = "https://github.com/a/b"
		}, []string{"trustedPublisher.vcsOrigin", "without a scheme"}},
		{"wrong type", func(m map[string]any) { m["targets"] = "linux-x64" }, []string{"targets", "must be an array, got a string"}},
		{"wrong scalar type", func(m map[string]any) { m["cli"].(map[string]any)["binary"] = 3 }, []string{"cli.binary", "must be a string, got a number"}},
		{"unsupported provider", func(m map[string]any) { m["trustedPublisher"].(map[string]any)["provider"] = "jenkins" }, []string{"trustedPublisher.provider", `"jenkins" is not supported`}},
		{"build without out", func(m map[string]any) { m["build"].(map[string]any)["command"] = []any{"make"} }, []string{"build.command", "{out}"}},
		{"package URL without package", func(m map[string]any) { m["release"].(map[string]any)["packageURL"] = "https://example.test/pkg" }, []string{"release.packageURL", "{package}"}},
		{"archive of an unknown platform", func(m map[string]any) {
			m["assets"] = map[string]any{"archives": map[string]any{"plan9-x64": "linux-x64"}}
		}, []string{"assets.archives.plan9-x64", `unknown target "plan9-x64"`}},
		{"archive from another platform", func(m map[string]any) {
			m["assets"] = map[string]any{"archives": map[string]any{"linux-x64": "linux-x64-baseline-musl"}}
		}, []string{"assets.archives.linux-x64", "does not run where linux-x64 does", `"linux-x64-baseline"`}},
		{"archive from an unconfigured target", func(m map[string]any) {
			m["targets"] = []any{"linux-x64"}
			m["assets"] = map[string]any{"archives": map[string]any{"linux-x64": "linux-x64-baseline"}}
		}, []string{"assets.archives.linux-x64", `"linux-x64-baseline" is not a configured target`}},
		{"assets dir holding the configuration", func(m map[string]any) { m["assets"] = map[string]any{"dir": "."} }, []string{"assets.dir", "clears this directory"}},
		{"assets dir above the configuration", func(m map[string]any) { m["assets"] = map[string]any{"dir": ".."} }, []string{"assets.dir", "holds it"}},
		{"checksums with a path", func(m map[string]any) { m["assets"] = map[string]any{"checksums": "../sums"} }, []string{"assets.checksums", "plain file name"}},
		{"repository without owner", func(m map[string]any) { m["github"] = map[string]any{"repository": "facets"} }, []string{"github.repository", `"owner/name"`}},
		{"API URL without scheme", func(m map[string]any) { m["github"] = map[string]any{"apiURL": "ghe.example.test/api/v3"} }, []string{"github.apiURL", "not an http(s) URL"}},
		{"installation id as a word", func(m map[string]any) { m["github"] = map[string]any{"installationId": "main"} }, []string{"github.installationId", "digits"}},
		{"app id as a number", func(m map[string]any) { m["github"] = map[string]any{"appId": 123} }, []string{"github.appId", "must be a string"}},
		{"unknown slack key", func(m map[string]any) { m["slack"] = map[string]any{"token": "x"} }, []string{"slack.token: unknown key", "apiURL, channel"}},
		{"bad resource class", func(m map[string]any) {
			m["ci"] = map[string]any{"resourceClasses": map[string]any{"build": "very large"}}
		}, []string{"ci.resourceClasses.build", "not a CircleCI resource class"}},
		{"blank context", func(m map[string]any) { m["ci"] = map[string]any{"contexts": map[string]any{"slack": " "}} }, []string{"ci.contexts.slack", "non-empty single line"}},
		{"library build without a program", func(m map[string]any) { m["adapters"].(map[string]any)["build"] = []any{"", "run", "build"} }, []string{"adapters.build", "the program (the first element) is empty"}},
		{"library build not an argv", func(m map[string]any) { m["adapters"].(map[string]any)["build"] = "bun run build" }, []string{"adapters.build", "must be an array, got a string"}},
		{"prepack not a boolean", func(m map[string]any) { m["adapters"].(map[string]any)["prepack"] = "yes" }, []string{"adapters.prepack", "wrong type"}},
		{"cli source outside the workspace", func(m map[string]any) { m["cli"].(map[string]any)["source"] = "../cli" }, []string{"cli.source", `"../cli" must be a directory inside the adapters workspace`}},
		{"no targets", func(m map[string]any) { m["targets"] = []any{} }, []string{"targets: is empty", "leave the key out"}},
		{"dist outside the repository", func(m map[string]any) { m["dist"].(map[string]any)["dir"] = "../dist" }, []string{"dist.dir", `"../dist" leaves the repository`}},
		{"binary outside dist", func(m map[string]any) { m["dist"].(map[string]any)["binary"] = "{dist}/../../{target}/{binary}" }, []string{"dist.binary", "leaves {dist}"}},
		{"binary outside the repository", func(m map[string]any) { m["dist"].(map[string]any)["binary"] = "../bin/{target}/{binary}" }, []string{"dist.binary", "leaves the repository"}},
		{"build dir outside the repository", func(m map[string]any) { m["build"].(map[string]any)["dir"] = "a/../../b" }, []string{"build.dir", "leaves the repository"}},
		{"workspace outside the repository", func(m map[string]any) { m["adapters"].(map[string]any)["workspace"] = ".." }, []string{"adapters.workspace", "leaves the repository"}},
		{"prerelease tag like a version", func(m map[string]any) { m["release"].(map[string]any)["prereleaseTag"] = "v2" }, []string{"release.prereleaseTag", "looks like a version"}},
		{"prerelease tag like a flag", func(m map[string]any) {
			m["release"].(map[string]any)["prereleaseTag"] = "--registry=http://127.0.0.1:9/"
		}, []string{"release.prereleaseTag", "looks like a command-line flag"}},
		{"bad placeholder version", func(m map[string]any) { m["release"].(map[string]any)["placeholderVersion"] = "1" }, []string{"release.placeholderVersion", "is not valid semver"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := loadRepoConfig(t)
			tt.mutate(m)
			data, _ := json.Marshal(m)
			_, err := Parse("release.json", t.TempDir(), data)
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), "release.json: ") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestSyntaxErrorHasPosition(t *testing.T) {
	_, err := Parse("cfg.json", ".", []byte("{\n  \"scope\": \"@x\",\n  \"cli\": {,}\n}"))
	if err == nil || !strings.Contains(err.Error(), "cfg.json: invalid JSON at line 3") {
		t.Fatalf("err = %v", err)
	}
	_, err = Parse("cfg.json", ".", []byte(""))
	if err == nil || !strings.Contains(err.Error(), "the file is empty") {
		t.Fatalf("err = %v", err)
	}
}

func TestMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "release.json"))
	if err == nil || !strings.Contains(err.Error(), "not found: create it") {
		t.Fatalf("err = %v", err)
	}
}

func TestTargetLookup(t *testing.T) {
	m := loadRepoConfig(t)
	m["targets"] = []any{"linux-x64"}
	data, _ := json.Marshal(m)
	c, err := Parse("release.json", ".", data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Target("darwin-arm64"); err == nil || !strings.Contains(err.Error(), "not configured") {
		t.Errorf("err = %v", err)
	}
	if _, err := c.Target("plan9-x64"); err == nil || !strings.Contains(err.Error(), "unknown target") {
		t.Errorf("err = %v", err)
	}
}

func TestDefaultArchives(t *testing.T) {
	c, err := Load(filepath.Join("..", "..", DefaultFile))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range c.ArchiveList() {
		got = append(got, a.Name+"<"+a.From.Name)
	}
	want := []string{
		"darwin-arm64<darwin-arm64", "darwin-x64<darwin-x64-baseline",
		"linux-arm64<linux-arm64", "linux-arm64-musl<linux-arm64-musl",
		"linux-x64<linux-x64-baseline", "linux-x64-musl<linux-x64-baseline-musl",
		"windows-arm64<windows-arm64", "windows-x64<windows-x64-baseline",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("default archives:\n got %v\nwant %v", got, want)
	}
	if got := c.AssetsDir(); got != filepath.Join(c.Dir, "dist", "assets") {
		t.Errorf("AssetsDir = %s", got)
	}
	if (c.CI.Contexts != CIContexts{Publish: "bot-context", GitHub: "github", Slack: "slack-secrets"}) || c.CI.SerialGroup != "<< pipeline.project.slug >>/release" {
		t.Errorf("CI defaults: %+v", c.CI)
	}
	if c.Assets.Checksums != "checksums.txt" || c.GitHub.Repository != "agent-facets/facets" || c.Slack.APIURL != DefaultSlackAPI {
		t.Errorf("defaults: checksums %q, repository %q, slack %q", c.Assets.Checksums, c.GitHub.Repository, c.Slack.APIURL)
	}

	// A subset of targets keeps the default archives whose build is
	// configured; it never falls back to an AVX2 build for an x64 archive.
	c.Targets = []string{"linux-x64", "linux-arm64", "windows-x64-baseline"}
	got = nil
	for _, a := range c.ArchiveList() {
		got = append(got, a.Name+"<"+a.From.Name)
	}
	if strings.Join(got, " ") != "linux-arm64<linux-arm64 windows-x64<windows-x64-baseline" {
		t.Errorf("archives of a subset: %v", got)
	}

	// An explicit empty object makes none.
	c.Assets.Archives = map[string]string{}
	if got := c.ArchiveList(); len(got) != 0 {
		t.Errorf("archives {} = %v, want none", got)
	}
}

func TestGitHubRepositoryFromURL(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"https://github.com/agent-facets/facets", "agent-facets/facets"},
		{"https://github.com/agent-facets/facets.git", "agent-facets/facets"},
		{"https://github.com/agent-facets/facets/", "agent-facets/facets"},
		{"https://ghe.example.test/agent-facets/facets", ""},
		{"https://github.com/agent-facets", ""},
		{"", ""},
	} {
		if got := githubRepository(tc.url); got != tc.want {
			t.Errorf("githubRepository(%q) = %q, want %q", tc.url, got, tc.want)
		}
	}
}

func TestDuplicateKeys(t *testing.T) {
	for name, doc := range map[string]string{
		"top level": `{"scope": "@a", "scope": "@b"}`,
		"nested":    `{"cli": {"package": "x", "binary": "y", "package": "z"}}`,
		"in arrays": `{"adapters": {"packages": []}, "trustedPublisher": {"contextIds": [], "orgId": "1", "orgId": "2"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("release.json", t.TempDir(), []byte(doc))
			if err == nil || !strings.Contains(err.Error(), "the key is there twice") {
				t.Fatalf("err = %v", err)
			}
		})
	}
	_, err := Parse("release.json", t.TempDir(), []byte("{\n  \"scope\": \"@a\",\n  \"scope\": \"@b\"\n}"))
	if err == nil || !strings.Contains(err.Error(), "release.json: scope: the key is there twice (again at line 3") {
		t.Errorf("err = %v", err)
	}
}

func TestAbsolutePathsAreTakenAsWritten(t *testing.T) {
	m := loadRepoConfig(t)
	abs := t.TempDir()
	m["dist"].(map[string]any)["dir"] = abs
	m["adapters"].(map[string]any)["workspace"] = filepath.Dir(abs)
	data, _ := json.Marshal(m)
	c, err := Parse("release.json", t.TempDir(), data)
	if err != nil {
		t.Fatal(err)
	}
	if c.Path(c.Dist.Dir) != abs {
		t.Errorf("dist = %s", c.Path(c.Dist.Dir))
	}
}
