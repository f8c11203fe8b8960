package toolkit_test

import (
	"strings"
	"testing"

	"github.com/agent-facets/release/internal/toolkit"
	"github.com/agent-facets/release/internal/toolkit/toolkittest"
)

func TestPackageSets(t *testing.T) {
	t.Parallel()
	e, _ := toolkittest.Env(t, toolkittest.Config(t, nil))
	for which, n := range map[string]int{"cli": 13, "adapters": 3, "all": 16, "": 16} {
		got, err := e.Packages(which)
		if err != nil || len(got) != n {
			t.Errorf("Packages(%q) = %d, %v; want %d", which, len(got), err, n)
		}
	}
	if _, err := e.Packages("everything"); err == nil || !strings.Contains(err.Error(), "use "+toolkit.Sets) {
		t.Errorf("err = %v", err)
	}
}
