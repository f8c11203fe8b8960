package npmcli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRegistryFromNpmConfig(t *testing.T) {
	dir := t.TempDir()
	rc := filepath.Join(dir, "npmrc")
	os.WriteFile(rc, []byte("registry=http://127.0.0.1:4001/\n@agent-facets:registry=http://127.0.0.1:4002\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "global"), nil, 0o600)
	t.Setenv("NPM_CONFIG_USERCONFIG", rc)
	t.Setenv("NPM_CONFIG_GLOBALCONFIG", filepath.Join(dir, "global"))
	t.Setenv("NPM_CONFIG_REGISTRY", "")
	t.Setenv("npm_config_registry", "")
	os.Unsetenv("NPM_CONFIG_REGISTRY")
	os.Unsetenv("npm_config_registry")
	c := &CLI{}
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
	t.Setenv("NPM_CONFIG_REGISTRY", "http://127.0.0.1:4003/")
	got, err := (&CLI{}).Registry(context.Background(), "agent-facets")
	if err != nil || got != "http://127.0.0.1:4003/" {
		t.Errorf("with NPM_CONFIG_REGISTRY: %q, %v", got, err)
	}
}

func TestErrorKeepsNpmLinesRedacted(t *testing.T) {
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
}
