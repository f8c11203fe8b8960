package release

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Where a package sits, from the README's Layout section.
const (
	surface    = 1
	operation  = 2
	service    = 3
	foundation = 4
	beside     = 5 // the throwaway registry and the fixtures
	other      = 6 // programs and test helpers
)

// readmeLayout reads the README's Layout section: each package and its
// floor.
func readmeLayout(t *testing.T) map[string]int {
	t.Helper()
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start := strings.Index(text, "\n## Layout\n")
	if start < 0 {
		t.Fatal("the README has no Layout section")
	}
	text = text[start+1:]
	if end := strings.Index(text[3:], "\n## "); end >= 0 {
		text = text[:end+3]
	}
	floors := map[string]int{}
	floor := 0
	pkgRE := regexp.MustCompile("`((?:internal/[a-z0-9/]+)|platforms|npm|release)`")
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, "### 1."):
			floor = surface
		case strings.HasPrefix(line, "### 2."):
			floor = operation
		case strings.HasPrefix(line, "### 3."):
			floor = service
		case strings.HasPrefix(line, "### 4."):
			floor = foundation
		case strings.HasPrefix(line, "### Beside"):
			floor = beside
		case strings.HasPrefix(line, "### Programs"):
			floor = other
		case strings.HasPrefix(line, "- ") && floor != 0:
			// The packages a bullet is about: the backticked names before
			// its first colon, and in "Programs and tests" every one.
			head := line
			if floor != other {
				head, _, _ = strings.Cut(line, ": ")
			}
			for _, m := range pkgRE.FindAllStringSubmatch(head, -1) {
				floors[strings.TrimSuffix(m[1], "/")] = floor
			}
		}
	}
	return floors
}

type goPackage struct {
	ImportPath string
	Imports    []string
}

func goList(t *testing.T) []goPackage {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []goPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p goPackage
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

const module = "github.com/agent-facets/release"

func rel(path string) string {
	if path == module {
		return "release"
	}
	return strings.TrimPrefix(path, module+"/")
}

// TestLayout holds the code to the README's Layout: every package is
// listed there, and no package imports from a floor above its own, the
// throwaway registry only from the operations that need one, or a test
// helper (or testing) from product code.
func TestLayout(t *testing.T) {
	floors := readmeLayout(t)
	pkgs := goList(t)
	seen := map[string]bool{}
	for _, p := range pkgs {
		name := rel(p.ImportPath)
		seen[name] = true
		f, ok := floors[name]
		if !ok {
			t.Errorf("%s is not in the README's Layout section", name)
			continue
		}
		for _, imp := range p.Imports {
			if imp == "testing" && f != other {
				t.Errorf("%s (product code) imports testing", name)
			}
			if !strings.HasPrefix(imp, module) {
				continue
			}
			dep := rel(imp)
			df, ok := floors[dep]
			switch {
			case !ok:
				continue // reported above, from its own entry
			case f == other:
				continue
			case df == other:
				t.Errorf("%s imports %s, which is for programs and tests only", name, dep)
			case f == beside:
				if df < service {
					t.Errorf("%s (beside the floors) imports %s, an operation or the surface", name, dep)
				}
			case df == beside:
				if !slices.Contains([]string{"internal/rehearse", "internal/bench"}, name) {
					t.Errorf("%s imports %s: only the rehearsal and the benchmark may use the throwaway registry and fixtures", name, dep)
				}
			case df < f:
				t.Errorf("%s (floor %d) imports %s from floor %d above it", name, f, dep, df)
			}
		}
	}
	for name := range floors {
		if !seen[name] {
			t.Errorf("the README's Layout lists %s, which is not a package", name)
		}
	}
}
