package npmcli

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/agent-facets/release/internal/command"
)

// cli runs npm with the process environment plus env.
func cli(env ...string) *CLI {
	return &CLI{Runner: &command.Runner{Environ: command.Merge(os.Environ(), env)}}
}

func TestRegistryFromNpmConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rc := filepath.Join(dir, "npmrc")
	os.WriteFile(rc, []byte("registry=http://127.0.0.1:4001/\n@agent-facets:registry=http://127.0.0.1:4002\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "global"), nil, 0o600)
	env := []string{"NPM_CONFIG_USERCONFIG=" + rc, "NPM_CONFIG_GLOBALCONFIG=" + filepath.Join(dir, "global"),
		"NPM_CONFIG_REGISTRY=", "npm_config_registry="}
	c := cli(env...)
	for name, want := range map[string]string{
		"agent-facets":                "http://127.0.0.1:4001/",
		"@agent-facets/cli-linux-x64": "http://127.0.0.1:4002/",
		"@other/pkg":                  "http://127.0.0.1:4001/",
	} {
		got, err := c.Registry(context.Background(), name)
		if err != nil || got != want {
			t.Errorf("Registry(%s) = %q, %v; want %q", name, got, err, want)
		}
	}
	// The environment wins over the user config, as in npm.
	got, err := cli(append(env, "NPM_CONFIG_REGISTRY=http://127.0.0.1:4003/")...).Registry(context.Background(), "agent-facets")
	if err != nil || got != "http://127.0.0.1:4003/" {
		t.Errorf("with NPM_CONFIG_REGISTRY: %q, %v", got, err)
	}
}

func TestErrorKeepsNpmLinesRedacted(t *testing.T) {
	t.Parallel()
	stderr := "npm error code E403\nnpm error 403 Forbidden - PUT http://127.0.0.1/x - token npm_abcdefghijklmnopqrstuvwxyz0123456789 refused\nnpm error A complete log of this run can be found in: /root/.npm/_logs/x.log\n"
	e := newError([]string{"publish", "x.tgz", "--otp=123456"}, 1, stderr)
	msg := e.Error()
	if e.Code != "E403" || !strings.Contains(msg, "npm error 403 Forbidden") {
		t.Errorf("error = %q (code %q)", msg, e.Code)
	}
	for _, bad := range []string{"npm_abcdefghij", "123456", "complete log", "exit status"} {
		if strings.Contains(msg, bad) {
			t.Errorf("error %q contains %q", msg, bad)
		}
	}
	if !strings.Contains(msg, "npm publish x.tgz --otp=[redacted] failed (exit 1)") {
		t.Errorf("error = %q", msg)
	}
	// Not npm's format: the last lines stand in.
	e = newError([]string{"whoami"}, 2, "\nsegmentation fault\ncore dumped\n\n")
	if e.Code != "" || strings.Join(e.Lines, "|") != "segmentation fault|core dumped" {
		t.Errorf("lines %q code %q", e.Lines, e.Code)
	}
}

// TestNpmThatCannotRun: npm missing is "install Node.js"; npm ended by a
// signal is said to be so, not taken for a missing npm.
func TestNpmThatCannotRun(t *testing.T) {
	t.Parallel()
	_, err := cli("PATH="+t.TempDir()).Run(context.Background(), nil, "--version")
	if err == nil || !strings.Contains(err.Error(), "install Node.js and npm") {
		t.Errorf("missing npm: %v", err)
	}
	if _, ok := err.(*Error); ok {
		t.Error("a missing npm is reported as npm's own failure")
	}
	if runtime.GOOS == "windows" {
		return // the stand-in below is a shell script
	}
	dir := t.TempDir()
	killed := filepath.Join(dir, "npm")
	if err := os.WriteFile(killed, []byte("#!/bin/sh\nkill -9 $$\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := cli()
	c.Bin = killed
	_, err = c.Run(context.Background(), nil, "publish")
	if err == nil || !strings.Contains(err.Error(), "was ended by a signal (killed)") || strings.Contains(err.Error(), "install Node.js") {
		t.Errorf("killed npm: %v", err)
	}
}

// TestSettingsSeeWhatNpmConfigListHides: a scope registry with credentials
// in its URL is left out of `npm config list --json`; Settings reads it as
// npm does, and PublishRegistry says where `npm publish` would really go
// (the scope's registry wins over --registry; publishConfig may move it).
func TestSettingsSeeWhatNpmConfigListHides(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rc := filepath.Join(dir, "npmrc")
	os.WriteFile(rc, []byte("registry=http://127.0.0.1:4001/\n@agent-facets:registry=http://ci:hunter2-long@localhost:4002/\nproxy=http://127.0.0.1:3128/\nfetch-timeout=1500\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "global"), nil, 0o600)
	c := cli("NPM_CONFIG_USERCONFIG="+rc, "NPM_CONFIG_GLOBALCONFIG="+filepath.Join(dir, "global"), "NPM_CONFIG_REGISTRY=", "npm_config_registry=")
	listed, err := c.Run(t.Context(), nil, "config", "list", "--json")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(listed, "@agent-facets:registry") {
		t.Skip("this npm lists the scope registry: nothing hidden to test")
	}
	got, err := c.Registry(t.Context(), "@agent-facets/cli-linux-x64")
	if err != nil || got != "http://ci:hunter2-long@localhost:4002/" {
		t.Errorf("scope registry = %q, %v", got, err)
	}
	s, _ := c.Settings(t.Context())
	if s.Proxy != "http://127.0.0.1:3128/" || s.Timeout().Milliseconds() != 1500 || !strings.Contains(s.Where["proxy"], rc) {
		t.Errorf("settings = %+v", s)
	}
	o := PublishOptions{Path: "x.tgz", Registry: "http://127.0.0.1:4001/", Tag: "latest", Access: "public"}
	if r, err := c.PublishRegistry(t.Context(), o, "@agent-facets/cli-linux-x64", nil); err != nil || !SameRegistry(r, "http://localhost:4002/") {
		t.Errorf("npm publish --registry would go to %q, %v; want the scope's", r, err)
	}
	// --registry on the command line wins over publishConfig.registry...
	if r, _ := c.PublishRegistry(t.Context(), o, "agent-facets", []byte(`{"registry": "http://127.0.0.1:4009/"}`)); !SameRegistry(r, o.Registry) {
		t.Errorf("publishConfig.registry under --registry: %q", r)
	}
	// ...but not over publishConfig's scope registry.
	if r, _ := c.PublishRegistry(t.Context(), o, "@agent-facets/adapter", []byte(`{"@agent-facets:registry": "http://127.0.0.1:4009/"}`)); !SameRegistry(r, "http://127.0.0.1:4009/") {
		t.Errorf("publishConfig's scope registry: %q", r)
	}
}
