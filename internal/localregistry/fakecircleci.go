package localregistry

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/golang-jwt/jwt/v5"
)

// circleciJS is the stand-in CircleCI CLI, a Node.js script.
//
//go:embed circleci.js
var circleciJS []byte

// circleciCmd runs it on Windows, where a script is found by its extension.
const circleciCmd = "@node \"%~dp0circleci\" %*\r\n"

// WriteFakeCircleCI puts a stand-in `circleci` CLI into binDir (circleci,
// and circleci.cmd for Windows), to be put first on PATH. Its
// `circleci run oidc get --claims '{"aud":"..."}'` prints an ID token with
// claims (typically from CircleCIClaims) and the requested aud, signed by
// r.Issuer, so the registry's OIDC exchange accepts it; it gets the token
// from this registry, so no signing key is written anywhere. With
// FAKE_CIRCLECI_FAIL=<message> in its environment it fails with that
// message.
func (r *Registry) WriteFakeCircleCI(binDir string, claims jwt.MapClaims) error {
	if err := os.WriteFile(filepath.Join(binDir, "circleci"), circleciJS, 0o755); err != nil {
		return fmt.Errorf("localregistry: install the stand-in circleci: %v", err)
	}
	if err := os.WriteFile(filepath.Join(binDir, "circleci.cmd"), []byte(circleciCmd), 0o755); err != nil {
		return fmt.Errorf("localregistry: install the stand-in circleci: %v", err)
	}
	spec, err := json.Marshal(map[string]string{"url": r.URL + idTokenPath[1:], "token": r.tokenService(claims)})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(binDir, "circleci-oidc.json"), spec, 0o600); err != nil {
		return fmt.Errorf("localregistry: write the stand-in circleci's settings: %v", err)
	}
	return nil
}
