package version

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agent-facets/release/internal/command"
)

func TestResolve(t *testing.T) {
	tests := []struct {
		name, arg, tag, from string
		want, err            string
	}{
		{name: "argument", arg: "1.2.3", want: "1.2.3"},
		{name: "argument with prefix", arg: "agent-facets@1.2.3", want: "1.2.3"},
		{name: "argument wins over the tag", arg: "1.2.3", tag: "agent-facets@2.0.0", from: "CIRCLE_TAG", want: "1.2.3"},
		{name: "prerelease", arg: "1.2.3-rc.1", want: "1.2.3-rc.1"},
		{name: "v prefix refused", arg: "v1.2.3", err: `version "v1.2.3" is not valid semver`},
		{name: "tag", tag: "agent-facets@2.0.0", from: "CIRCLE_TAG", want: "2.0.0"},
		{name: "adapter tag refused", tag: "@agent-facets/adapter@1.0.0", from: "CIRCLE_TAG", err: `CIRCLE_TAG="@agent-facets/adapter@1.0.0" is not a release tag`},
		{name: "nothing", err: "no release version: pass it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve(tt.arg, "agent-facets@", tt.tag, tt.from)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestOrder(t *testing.T) {
	if !IsPrerelease("1.0.0-beta.1") || IsPrerelease("1.0.0") {
		t.Error("IsPrerelease")
	}
	if !Less("1.2.3", "1.10.0") || Less("2.0.0", "1.9.9") || Less("x", "1.0.0") {
		t.Error("Less")
	}
}

// versionsToTry are versions that pass strict semver, and some that do not.
var versionsToTry = []string{
	"1.2.3", "1.2.3-rc.1", "1.2.3-0rc", "1.2.3-RC.1", "0.0.1", "10.20.30-alpha.beta.1",
	"1.2.3+build.5", "1.2.3-rc.1+sha.abc", "1.0.0+0",
	"9007199254740991.0.0", "9007199254740992.0.0", "1.9007199254740993.0", "1.2.3-9007199254740993",
	"1.2.3-" + strings.Repeat("a", 250), "01.2.3", "1.2", "v1.2.3",
}

func TestValidateRefusesWhatNpmWouldRewrite(t *testing.T) {
	for _, v := range []string{"1.2.3+build.5", "1.0.0+0", "9007199254740992.0.0", "1.2.3-" + strings.Repeat("a", 251)} {
		if _, err := Validate(v); err == nil {
			t.Errorf("Validate(%q) passed", v)
		}
	}
	_, err := Validate("1.2.3+build.5")
	if err == nil || !strings.Contains(err.Error(), "use a prerelease such as 1.2.3-build.5") {
		t.Errorf("no advice: %v", err)
	}
}

// TestValidateAgreesWithNpm checks Validate against npm's own semver: a
// version passes only if semver.clean leaves it as it is.
func TestValidateAgreesWithNpm(t *testing.T) {
	run := &command.Runner{Environ: os.Environ()}
	semverDir := npmSemver(t)
	script := `const s = require(process.argv[1]); console.log(JSON.stringify(JSON.parse(process.argv[2]).map(v => s.clean(v))))`
	list, _ := json.Marshal(versionsToTry)
	out, err := run.Output(t.Context(), command.Cmd{Name: "node", Args: []string{"-e", script, semverDir, string(list)}})
	if err != nil {
		t.Fatal(err)
	}
	var cleaned []*string
	if err := json.Unmarshal([]byte(out), &cleaned); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for i, v := range versionsToTry {
		npmKeeps := cleaned[i] != nil && *cleaned[i] == v
		_, err := Validate(v)
		if (err == nil) != npmKeeps {
			t.Errorf("Validate(%q): %v, but npm's semver.clean gives %v", v, err, deref(cleaned[i]))
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}

// tagsToTry are dist-tags people might pass, good and bad.
var tagsToTry = []string{
	"latest", "next", "beta", "canary", "rc", "lts", "next-2", "v-next", "xenial", "x-ray", "vnext", "Xmas",
	"1.2.3", "1", "1.x", "v1", "v1.2", "V1", "x", "X", "x.x", "*", "=1.2.3", "^1", "~1.2", ">=1", "1 - 2",
	"--registry=http://127.0.0.1:9/", "-t", "", "a b", "tag/with/slash", "ünïcode",
}

// TestCheckTagAgreesWithNpm checks that every tag npm itself refuses (a
// valid semver range) or would read as a flag is refused, against npm's
// own semver.
func TestCheckTagAgreesWithNpm(t *testing.T) {
	semverDir := npmSemver(t)
	script := `const s = require(process.argv[1]); console.log(JSON.stringify(JSON.parse(process.argv[2]).map(v => s.validRange(v) !== null)))`
	list, _ := json.Marshal(tagsToTry)
	out, err := (&command.Runner{Environ: os.Environ()}).Output(t.Context(), command.Cmd{Name: "node", Args: []string{"-e", script, semverDir, string(list)}})
	if err != nil {
		t.Fatal(err)
	}
	var isRange []bool
	if err := json.Unmarshal([]byte(out), &isRange); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for i, tag := range tagsToTry {
		err := CheckTag(tag)
		if (isRange[i] || strings.HasPrefix(tag, "-")) && err == nil {
			t.Errorf("CheckTag(%q) passed, but npm reads it as a range or a flag", tag)
		}
	}
	for _, good := range []string{"latest", "next", "beta", "next-2", "xenial", "vnext"} {
		if err := CheckTag(good); err != nil {
			t.Errorf("CheckTag(%q): %v", good, err)
		}
	}
}

// npmSemver is the directory of npm's own semver package.
func npmSemver(t *testing.T) string {
	t.Helper()
	root, err := (&command.Runner{Environ: os.Environ()}).Output(t.Context(), command.Cmd{Name: "npm", Args: []string{"root", "-g"}})
	if err != nil {
		t.Skipf("no npm: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(root), "npm", "node_modules", "semver")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("npm's semver is not at %s", dir)
	}
	return dir
}
