package localgithub

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func call(t *testing.T, method, url, auth, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(data)
}

func TestReleasesAndAssets(t *testing.T) {
	t.Parallel()
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.AddRepo("o/r", "v1")
	tok := s.Token("o/r")
	api := s.APIURL() + "repos/o/r/"

	if code, _, body := call(t, "GET", api+"releases/tags/v1", "wrong", ""); code != 401 || !strings.Contains(body, `"Bad credentials"`) {
		t.Errorf("bad token: %d %s", code, body)
	}
	if code, _, _ := call(t, "GET", s.APIURL()+"repos/x/y/releases/tags/v1", tok, ""); code != 404 {
		t.Errorf("a repository the token may not see: %d", code)
	}
	code, _, body := call(t, "POST", api+"releases", tok, `{"tag_name":"v1","draft":true}`)
	if code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	var rel struct {
		ID        int64
		UploadURL string `json:"upload_url"`
		Draft     bool
	}
	json.Unmarshal([]byte(body), &rel)
	if !rel.Draft || !strings.HasPrefix(rel.UploadURL, s.UploadURL()) {
		t.Errorf("release %s", body)
	}
	// A draft is not found by its tag, but listed.
	if code, _, _ := call(t, "GET", api+"releases/tags/v1", tok, ""); code != 404 {
		t.Errorf("draft by tag: %d", code)
	}
	if code, _, body := call(t, "POST", api+"releases", tok, `{"tag_name":"v1"}`); code != 422 || !strings.Contains(body, `"code":"already_exists"`) {
		t.Errorf("second create: %d %s", code, body)
	}
	id := strconv.FormatInt(rel.ID, 10)
	for i := 0; i < 3; i++ {
		req, _ := http.NewRequest("POST", s.UploadURL()+"repos/o/r/releases/"+id+"/assets?name=a"+strconv.Itoa(i)+".zip", strings.NewReader("zip"+strconv.Itoa(i)))
		req.Header.Set("Authorization", "token "+tok)
		req.Header.Set("Content-Type", "application/zip")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 201 {
			t.Fatalf("upload %d: %v %v", i, err, resp.Status)
		}
		resp.Body.Close()
	}
	code, hdr, body := call(t, "GET", api+"releases/"+id+"/assets?per_page=2", tok, "")
	if code != 200 || !strings.Contains(hdr.Get("Link"), `page=2`) || strings.Count(body, `"digest":"sha256:`) != 2 {
		t.Errorf("page 1: %d %v %s", code, hdr, body)
	}
	if code, _, body := call(t, "PATCH", api+"releases/"+id, tok, `{"draft":false}`); code != 200 || !strings.Contains(body, `"draft":false`) {
		t.Errorf("publish: %d %s", code, body)
	}
	if code, _, body := call(t, "GET", s.URL+"o/r/releases/download/v1/a1.zip", "", ""); code != 200 || body != "zip1" {
		t.Errorf("download: %d %q", code, body)
	}
}

func TestAppJWT(t *testing.T) {
	t.Parallel()
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.AddRepo("o/r")
	app, err := s.AddApp("o/r")
	if err != nil {
		t.Fatal(err)
	}
	sign := func(iss any, iat, exp time.Duration) string {
		now := time.Now()
		tk, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": iss, "iat": now.Add(iat).Unix(), "exp": now.Add(exp).Unix()}).SignedString(app.Key)
		return tk
	}
	inst := strconv.FormatInt(app.Installation("o/r"), 10)
	mint := s.APIURL() + "app/installations/" + inst + "/access_tokens"
	for _, tc := range []struct {
		name string
		jwt  string
		code int
		want string
	}{
		{"client id", sign(app.ClientID, -time.Minute, 9*time.Minute), 201, `"token":"ghs_`},
		{"numeric app id", sign(app.ID, -time.Minute, 9*time.Minute), 201, `"token":"ghs_`},
		{"too long", sign(app.ClientID, 0, 20*time.Minute), 401, "too far in the future"},
		{"expired", sign(app.ClientID, -20*time.Minute, -15*time.Minute), 401, "'Expiration time'"},
		{"unknown app", sign("Iv23nobody", 0, time.Minute), 401, "could not be decoded"},
		{"not a JWT", "garbage", 401, "could not be decoded"},
	} {
		code, _, body := call(t, "POST", mint, tc.jwt, "")
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %s", tc.name, code, body)
		}
	}
	good := sign(app.ClientID, 0, 5*time.Minute)
	if code, _, body := call(t, "GET", s.APIURL()+"repos/o/r/installation", good, ""); code != 200 || !strings.Contains(body, `"id":`+inst) {
		t.Errorf("installation lookup: %d %s", code, body)
	}
	app.Reinstall("o/r")
	if code, _, _ := call(t, "POST", mint, good, ""); code != 404 {
		t.Errorf("stale installation: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, r, err := s.Await(ctx, 0, func(r Request) bool { return r.Status == 404 && r.Auth == "jwt" }); err != nil || r.Method != "POST" {
		t.Errorf("Await: %+v %v", r, err)
	}
}
