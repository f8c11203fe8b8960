// Command fakecircleci stands in for the CircleCI CLI in tests. It implements
// only `circleci run oidc get [--claims '{"aud":"..."}']`, printing an RS256
// ID token on stdout like the real command does inside a CircleCI job.
//
// Its inputs are files, named by environment variables and defaulting to
// files next to the executable (where testreg.InstallFakeCircleCI writes them):
//
//	FAKE_CIRCLECI_KEY_FILE     PEM RSA private key (default circleci-oidc-key.pem)
//	FAKE_CIRCLECI_CLAIMS_FILE  JSON {"kid": "...", "claims": {...}} (default circleci-oidc.json)
//	FAKE_CIRCLECI_FAIL         when set, print it as an error and exit 1
//
// As on CircleCI, only the aud claim can be customised with --claims.
package main

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

func main() {
	tok, err := run(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
	fmt.Println(tok)
}

func run(args []string) (string, error) {
	if msg := os.Getenv("FAKE_CIRCLECI_FAIL"); msg != "" {
		return "", errors.New(msg)
	}
	if len(args) < 3 || args[0] != "run" || args[1] != "oidc" || args[2] != "get" {
		return "", fmt.Errorf("unsupported command %q: this stand-in only implements `circleci run oidc get`", strings.Join(args, " "))
	}
	var custom map[string]any
	rest := args[3:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		var val string
		switch {
		case a == "--claims" && i+1 < len(rest):
			i++
			val = rest[i]
		case strings.HasPrefix(a, "--claims="):
			val = strings.TrimPrefix(a, "--claims=")
		default:
			return "", fmt.Errorf("unknown flag %q", a)
		}
		if err := json.Unmarshal([]byte(val), &custom); err != nil {
			return "", fmt.Errorf("--claims is not a JSON object: %v", err)
		}
	}
	for k := range custom {
		if k != "aud" {
			return "", fmt.Errorf("claim %q cannot be customised: only aud can", k)
		}
	}

	key, err := readKey(input("FAKE_CIRCLECI_KEY_FILE", "circleci-oidc-key.pem"))
	if err != nil {
		return "", err
	}
	var spec struct {
		KID    string         `json:"kid"`
		Claims map[string]any `json:"claims"`
	}
	data, err := os.ReadFile(input("FAKE_CIRCLECI_CLAIMS_FILE", "circleci-oidc.json"))
	if err != nil {
		return "", fmt.Errorf("read claims: %v", err)
	}
	if err := json.Unmarshal(data, &spec); err != nil {
		return "", fmt.Errorf("decode claims: %v", err)
	}
	claims := jwt.MapClaims{}
	for k, v := range spec.Claims {
		claims[k] = v
	}
	for k, v := range custom {
		claims[k] = v
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = spec.KID
	return tok.SignedString(key)
}

// input returns the file named by env, else name next to the executable.
func input(env, name string) string {
	if p := os.Getenv(env); p != "" {
		return p
	}
	exe, err := os.Executable()
	if err != nil {
		return name
	}
	return filepath.Join(filepath.Dir(exe), name)
}

func readKey(path string) (any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read signing key: %v", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("signing key %s is not PEM", path)
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	return x509.ParsePKCS8PrivateKey(block.Bytes)
}
