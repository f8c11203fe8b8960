//go:build unix

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/build"
	"github.com/agent-facets/release/internal/command"
	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/localregistry/localregistrytest"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
)

// goShim is a `go` for Mage's -gocmd that logs when each compilation of
// the magefile starts and ends (and takes a second longer, so that
// compilations that may overlap do), then runs the real go.
const goShim = `#!/bin/sh
if [ "$1" = build ]; then
  echo "start $$" >> "%[1]s"
  sleep 1
  "%[2]s" "$@"; rc=$?
  echo "end $$" >> "%[1]s"
  exit $rc
fi
exec "%[2]s" "$@"
`

// TestFourTargetsAtOnce starts four publishPlatform targets together from
// one checkout, with a cold Mage cache, as a CI machine or a maintainer
// would: Mage writes magefiles/mage_output_file.go for each compilation,
// so compilations that overlap break each other ("expected 'package',
// found 'EOF'"). With `go tool mage` they never overlap, all four publish,
// and nothing is left in magefiles/.
func TestFourTargetsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the toolkit four times")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	root := toolkittest.RepoRoot()
	realGo, err := (&command.Runner{Environ: os.Environ()}).LookPath("go")
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	compiles := filepath.Join(dir, "compiles.log")
	shim := filepath.Join(dir, "go-shim")
	if err := os.WriteFile(shim, []byte(fmt.Sprintf(goShim, compiles, realGo)), 0o755); err != nil {
		t.Fatal(err)
	}

	reg := localregistrytest.Start(t)
	token := reg.AddUser(t, "maintainer")
	cfg := toolkittest.DemoConfig(t, nil)
	e, out := toolkittest.Env(t, cfg, reg.NpmEnv(t, token)...)
	if _, err := build.Build(ctx, e, cfg.PlatformTargets(), "1.2.3"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	cfgPath := filepath.Join(dir, "release.json")
	writeJSON(t, cfgPath, cfg)
	env := append(append([]string(nil), e.Facts.Environ...), "RELEASE_CONFIG="+cfgPath, "MAGEFILE_CACHE="+filepath.Join(dir, "cold-cache"))

	targets := []string{"linux-x64", "linux-arm64", "darwin-arm64", "windows-x64"}
	results := make([]error, len(targets))
	outputs := make([]string, len(targets))
	var wg sync.WaitGroup
	for i, tg := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf toolkittest.Buffer
			_, results[i] = (&command.Runner{Environ: env}).Output(ctx, command.Cmd{
				Name: "go", Args: []string{"tool", "mage", "-gocmd", shim, "publishPlatform", tg, "-version=1.2.3", "-auth=npm"},
				Dir: root, Output: &buf,
			})
			outputs[i] = buf.String()
		}()
	}
	wg.Wait()
	for i, tg := range targets {
		if results[i] != nil {
			t.Errorf("%s: %v\n%s", tg, results[i], outputs[i])
		}
		if n := reg.PublishCount(cfg.PlatformPackage(tg)); n != 1 {
			t.Errorf("%s published %d times", tg, n)
		}
	}
	// The compilations never overlapped.
	f, err := os.Open(compiles)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	running, started := 0, 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		switch strings.Fields(sc.Text())[0] {
		case "start":
			running++
			started++
			if running > 1 {
				t.Error("two compilations of the magefile ran at once")
			}
		case "end":
			running--
		}
	}
	if started != len(targets) {
		t.Errorf("%d compilations, want %d", started, len(targets))
	}
	if left, _ := filepath.Glob(filepath.Join(root, "magefiles", "mage_output_file.go")); len(left) > 0 {
		t.Errorf("left in magefiles/: %v", left)
	}
	toolkittest.NoLeaks(t, []string{token}, outputs, cfg.Path(cfg.Dist.Dir))
}

func writeJSON(t *testing.T, path string, cfg *config.Config) {
	t.Helper()
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
