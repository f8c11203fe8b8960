package library

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/agent-facets/release/internal/workspace"
)

// testWorkspace is a workspace of packages at dir/packages/<name>.
func testWorkspace(dir string, pkgs ...workspace.Package) *workspace.Workspace {
	for i := range pkgs {
		if pkgs[i].Dir == "" {
			pkgs[i].Dir = filepath.Join(dir, "packages", strings.TrimPrefix(pkgs[i].Name, "@x/"))
		}
	}
	return &workspace.Workspace{Dir: dir, Packages: pkgs, Catalogs: map[string]map[string]string{
		"default": {"left-pad": "^1.3.0"},
		"legacy":  {"react": "^17.0.2"},
	}}
}

func TestRewrite(t *testing.T) {
	dir := t.TempDir()
	ws := testWorkspace(dir,
		workspace.Package{Name: "@x/core", Version: "1.2.3"},
		workspace.Package{Name: "@x/util", Version: "0.4.0"},
		workspace.Package{Name: "@x/lib", Version: "2.0.0"},
		workspace.Package{Name: "@x/tool", Version: "3.1.0", Private: true},
	)
	lib, _ := ws.Lookup("@x/lib")
	raw := `{
  "name": "@x/lib",
  "version": "2.0.0",
  "type": "module",
  "main": "./src/index.ts",
  "exports": { ".": "./src/index.ts" },
  "dependencies": {
    "@x/core": "workspace:*",
    "@x/util": "workspace:^",
    "left-pad": "catalog:",
    "react": "catalog:legacy",
    "lodash": "^4.17.21"
  },
  "devDependencies": { "@x/tool": "workspace:~", "@x/gone": "workspace:*" },
  "optionalDependencies": { "@x/core": "workspace:^1.0.0" },
  "peerDependencies": { "@x/util": "workspace:~", "renamed": "workspace:@x/core@^", "bypath": "workspace:../core" },
  "scripts": { "build": "tsdown", "prepack": "node rewrite.mjs", "postpack": "git checkout package.json", "test": "vitest" },
  "publishConfig": {
    "access": "public",
    "tag": "next",
    "provenance": false,
    "main": "./dist/index.mjs",
    "exports": { ".": { "types": "./dist/index.d.mts", "import": "./dist/index.mjs" } },
    "bin": { "lib": "./dist/cli.mjs" }
  },
  "packageManager": "bun@1.4.4",
  "description": "a <b> & c"
}`
	r, err := Rewrite(ws, lib, []byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "name": "@x/lib",
  "version": "2.0.0",
  "type": "module",
  "main": "./dist/index.mjs",
  "exports": {
    ".": {
      "types": "./dist/index.d.mts",
      "import": "./dist/index.mjs"
    }
  },
  "dependencies": {
    "@x/core": "1.2.3",
    "@x/util": "^0.4.0",
    "left-pad": "^1.3.0",
    "react": "^17.0.2",
    "lodash": "^4.17.21"
  },
  "devDependencies": {
    "@x/tool": "~3.1.0",
    "@x/gone": "workspace:*"
  },
  "optionalDependencies": {
    "@x/core": "^1.0.0"
  },
  "peerDependencies": {
    "@x/util": "~0.4.0",
    "renamed": "npm:@x/core@^1.2.3",
    "bypath": "npm:@x/core@1.2.3"
  },
  "scripts": {
    "build": "tsdown",
    "test": "vitest"
  },
  "publishConfig": {
    "access": "public",
    "tag": "next",
    "provenance": false
  },
  "description": "a <b> & c",
  "bin": {
    "lib": "./dist/cli.mjs"
  }
}
`
	if string(r.JSON) != want {
		t.Errorf("rewritten manifest:\n%s\nwant:\n%s", r.JSON, want)
	}
	if r.Publish != (Publish{Access: "public", Tag: "next"}) {
		t.Errorf("publish = %+v", r.Publish)
	}
	if !strings.Contains(strings.Join(r.Changes, "\n"), `dependencies["@x/util"]: workspace:^ → ^0.4.0`) {
		t.Errorf("changes = %q", r.Changes)
	}
	// The same input, the same bytes.
	again, _ := Rewrite(ws, lib, []byte(raw))
	if string(again.JSON) != string(r.JSON) {
		t.Error("two rewrites of the same manifest differ")
	}
}

func TestRewriteDropsEmptyPublishConfig(t *testing.T) {
	ws := testWorkspace(t.TempDir(), workspace.Package{Name: "@x/a", Version: "1.0.0"})
	a, _ := ws.Lookup("@x/a")
	r, err := Rewrite(ws, a, []byte(`{"name":"@x/a","version":"1.0.0","publishConfig":{"types":"./dist/a.d.ts"},"scripts":{"prepare":"husky"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(r.JSON); got != "{\n  \"name\": \"@x/a\",\n  \"version\": \"1.0.0\",\n  \"types\": \"./dist/a.d.ts\"\n}\n" {
		t.Errorf("got %s", got)
	}
	if _, err := Rewrite(ws, a, []byte(`{"name":"@x/a","dependencies":["b"]}`)); err == nil || !strings.Contains(err.Error(), `"dependencies" must be an object`) {
		t.Errorf("err = %v", err)
	}
	if _, err := Rewrite(ws, a, []byte(`[1]`)); err == nil || !strings.Contains(err.Error(), "not a JSON object") {
		t.Errorf("err = %v", err)
	}
}

func TestObjectKeepsOrder(t *testing.T) {
	o, err := ParseObject([]byte(`{"z": 1, "a": {"y": [1, 2]}, "m": "<&>", "z": 2}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(o.Keys(), ","); got != "z,a,m" {
		t.Errorf("keys = %s", got)
	}
	o.SetValue("b", "x")
	o.Delete("a")
	data, _ := o.MarshalJSON()
	if string(data) != `{"z":2,"m":"<&>","b":"x"}` {
		t.Errorf("marshalled %s", data)
	}
	for _, bad := range []string{`[]`, `{"a":1} {}`, `{"a":}`} {
		if _, err := ParseObject([]byte(bad)); err == nil {
			t.Errorf("ParseObject(%s): no error", bad)
		}
	}
}
