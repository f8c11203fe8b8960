package build_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/build"
	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
	"github.com/agent-facets/release/platforms"
)

func TestBuildFailures(t *testing.T) {
	host, err := platforms.Current()
	if err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tests := []struct {
		name   string
		mutate func(c *config.Config)
		want   string
	}{
		{"version not stamped", func(c *config.Config) {
			c.Build.Command = []string{"go", "build", "-o", "{out}", "./internal/fixtures/democli"}
		}, "reports version \"0.0.0-dev\", not the release version 7.0.0: the build does not stamp the version"},
		{"command fails", func(c *config.Config) {
			c.Build.Command = []string{"go", "build", "-o", "{out}", "./no/such/package"}
		}, "build failed for " + host.Name},
		{"wrong architecture produced", func(c *config.Config) {
			c.Build.Env["GOARCH"] = "riscv64"
		}, "needs ELF x86-64; check build.command in "},
		// Another tool builds: nothing in its binary tells AVX2 from baseline.
		{"no build stamp", func(c *config.Config) {
			c.Build.Command = []string{"cp", "/bin/true", "{out}"}
		}, "cannot tell whether it is an AVX2 or a baseline build: nothing in the binary says"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "no build stamp" && (host.OS != "linux" || host.CPU != "x64") {
				t.Skip("needs an x64 Linux host, whose /bin/true is an x64 ELF binary")
			}
			cfg := toolkittest.DemoConfig(t, func(c *config.Config) {
				c.Targets = []string{host.Name}
				tt.mutate(c)
			})
			e, out := toolkittest.Env(t, cfg)
			_, err := build.Build(ctx, e, cfg.PlatformTargets(), "7.0.0")
			if err == nil {
				t.Fatalf("want error\n%s", out)
			}
			if !strings.Contains(err.Error()+out.String(), tt.want) {
				t.Errorf("error %q / output %q lacks %q", err, out, tt.want)
			}
			if strings.Contains(err.Error()+out.String(), "bun build") {
				t.Errorf("advice names Bun's build though it does not build here: %v\n%s", err, out)
			}
		})
	}
}
