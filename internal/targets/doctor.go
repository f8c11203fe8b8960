package targets

import (
	"context"
	"os"

	"github.com/agent-facets/release/internal/doctor"
	"github.com/agent-facets/release/internal/report"
	"github.com/agent-facets/release/internal/secret"
)

// Doctor checks this machine for a release and fails when a required check
// fails. It loads the configuration itself: an invalid one is one of the
// things it reports.
func Doctor(ctx context.Context) error {
	_, err := doctor.Run(ctx, doctor.Options{ConfigPath: ConfigPath(), Out: report.New(os.Stdout)})
	return secret.Error(err)
}
