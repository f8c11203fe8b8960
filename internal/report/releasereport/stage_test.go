package releasereport

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/agent-facets/release/internal/outcome"
)

func TestStagedRecordCarriesItsStageID(t *testing.T) {
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	recs := []outcome.Record{{Package: "@agent-facets/cli-linux-x64", Version: "1.2.3", Action: outcome.Staged, Tag: "latest",
		Integrity: "sha512-abc", StageID: "0b6c5e1a-0000-4000-8000-000000000001", Duration: time.Second}}
	for _, op := range []string{"publishPlatform", "release:approve", "release:reject"} {
		data, err := New(op, "agent-facets", "1.2.3", start, start.Add(2*time.Second), recs, nil).JSON()
		if err != nil {
			t.Fatal(err)
		}
		if err := Validate(data); err != nil {
			t.Fatalf("%s: %v\n%s", op, err, data)
		}
		var r Report
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatal(err)
		}
		if p := r.Packages[0]; p.Action != "staged" || p.StageID != recs[0].StageID || p.Integrity != "sha512-abc" {
			t.Errorf("%s: package = %+v", op, p)
		}
	}
}
