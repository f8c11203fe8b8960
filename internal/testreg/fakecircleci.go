package testreg

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const fakeCircleCIPkg = "github.com/agent-facets/release/internal/testreg/fakecircleci"

var fakeCircleCI struct {
	once sync.Once
	path string
	err  error
}

// InstallFakeCircleCI puts a stand-in `circleci` CLI into a new temporary
// directory and returns that directory, to be prepended to PATH. Its
// `circleci run oidc get --claims '{"aud":"..."}'` prints an ID token with
// claims (typically from CircleCIClaims) and the requested aud, signed by
// r.Issuer, so the registry's OIDC exchange accepts it. Set
// FAKE_CIRCLECI_FAIL=<message> in its environment to make it fail.
// The binary is built once per test process (and cached in the OS temp
// directory by source hash).
func (r *Registry) InstallFakeCircleCI(t testing.TB, claims jwt.MapClaims) (binDir string) {
	t.Helper()
	binDir = t.TempDir()
	if err := r.WriteFakeCircleCI(binDir, claims); err != nil {
		t.Fatal(err)
	}
	return binDir
}

// WriteFakeCircleCI is InstallFakeCircleCI outside a test: it puts the
// stand-in and its inputs into binDir.
func (r *Registry) WriteFakeCircleCI(binDir string, claims jwt.MapClaims) error {
	fakeCircleCI.once.Do(func() { fakeCircleCI.path, fakeCircleCI.err = buildFakeCircleCI() })
	if fakeCircleCI.err != nil {
		return fakeCircleCI.err
	}
	if err := copyFile(fakeCircleCI.path, filepath.Join(binDir, "circleci"), 0o755); err != nil {
		return fmt.Errorf("testreg: install fake circleci: %v", err)
	}
	spec, err := json.Marshal(map[string]any{"kid": r.Issuer.KeyID, "claims": claims})
	if err != nil {
		return fmt.Errorf("testreg: encode fake circleci claims: %v", err)
	}
	if err := os.WriteFile(filepath.Join(binDir, "circleci-oidc.json"), spec, 0o600); err != nil {
		return fmt.Errorf("testreg: write fake circleci claims: %v", err)
	}
	if err := os.WriteFile(filepath.Join(binDir, "circleci-oidc-key.pem"), r.Issuer.PrivateKeyPEM(), 0o600); err != nil {
		return fmt.Errorf("testreg: write fake circleci key: %v", err)
	}
	return nil
}

// buildFakeCircleCI builds the stand-in into the OS temp directory, keyed by
// the hash of its source and the Go version, and returns the binary's path.
func buildFakeCircleCI() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("testreg: cannot locate the fakecircleci source")
	}
	srcDir := filepath.Join(filepath.Dir(file), "fakecircleci")
	src, err := os.ReadFile(filepath.Join(srcDir, "main.go"))
	if err != nil {
		return "", fmt.Errorf("testreg: read fakecircleci source: %w", err)
	}
	h := sha256.New()
	h.Write(src)
	io.WriteString(h, runtime.Version()+runtime.GOOS+runtime.GOARCH)
	sum := hex.EncodeToString(h.Sum(nil))[:16]
	dir := filepath.Join(os.TempDir(), "testreg-fakecircleci-"+sum)
	bin := filepath.Join(dir, "circleci")
	if fileExists(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("testreg: create %s: %w", dir, err)
	}
	tmpDir, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", fmt.Errorf("testreg: create build directory in %s: %w", dir, err)
	}
	defer os.RemoveAll(tmpDir)
	tmp := filepath.Join(tmpDir, "circleci")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", tmp, fakeCircleCIPkg)
	cmd.Dir = srcDir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("testreg: go build %s: %w: %s", fakeCircleCIPkg, err, tail(out.String(), 2000))
	}
	// Rename is atomic: parallel test processes may race to the same name.
	if err := os.Rename(tmp, bin); err != nil {
		return "", fmt.Errorf("testreg: install built fake circleci: %w", err)
	}
	return bin, nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
