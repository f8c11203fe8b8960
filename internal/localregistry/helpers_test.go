package localregistry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/localregistry/localregistrytest"
	"github.com/agent-facets/release/internal/registry"
)

// npmResult is what one npm run printed.
type npmResult struct {
	stdout, stderr string
	err            error
}

// runNpm runs the real npm CLI in dir with os.Environ() plus env.
func runNpm(t *testing.T, dir string, env []string, args ...string) npmResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return npmResult{stdout: out.String(), stderr: errb.String(), err: err}
}

// mustNpm runs npm and fails the test when it fails.
func mustNpm(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	res := runNpm(t, dir, env, args...)
	if res.err != nil {
		t.Fatalf("npm %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), res.err, res.stdout, res.stderr)
	}
	return res.stdout
}

// makePackage writes a tiny package and returns its directory.
func makePackage(t *testing.T, name, version string) string {
	t.Helper()
	dir := t.TempDir()
	manifest, _ := json.MarshalIndent(map[string]any{
		"name": name, "version": version, "description": "testreg fixture", "license": "MIT",
	}, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "package.json"), manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.js"), []byte("module.exports = 42\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// publish publishes name@version with a user token.
func publish(t *testing.T, reg *localregistrytest.Registry, token, name, version string) {
	t.Helper()
	mustNpm(t, makePackage(t, name, version), reg.NpmEnv(t, token), "publish", "--access", "public")
}

// httpDo sends one request to the registry front with a deadline.
func httpDo(t *testing.T, method, url string, header map[string]string, body []byte) (*http.Response, []byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp, data, err
}

// mustHTTP is httpDo that fails the test on a transport error.
func mustHTTP(t *testing.T, method, url string, header map[string]string, body []byte) (*http.Response, []byte) {
	t.Helper()
	resp, data, err := httpDo(t, method, url, header, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp, data
}

type packument struct {
	Name     string                     `json:"name"`
	DistTags map[string]string          `json:"dist-tags"`
	Versions map[string]json.RawMessage `json:"versions"`
	Error    string                     `json:"error"`
}

// getPackument reads a packument through the front; abbreviated selects the
// install-v1 form.
func getPackument(t *testing.T, reg *localregistrytest.Registry, name string, abbreviated bool, query string) (int, packument) {
	t.Helper()
	h := map[string]string{"Accept": "application/json"}
	if abbreviated {
		h["Accept"] = "application/vnd.npm.install-v1+json"
	}
	resp, data := mustHTTP(t, http.MethodGet, reg.URL+registry.EscapeName(name)+query, h, nil)
	var p packument
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatalf("GET %s: body is not JSON: %v: %s", name, err, data)
	}
	return resp.StatusCode, p
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	// small maps: insertion sort keeps this dependency-free
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
