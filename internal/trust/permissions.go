package trust

import (
	"fmt"
	"slices"
	"strings"

	"github.com/agent-facets/release/internal/config"
	"github.com/agent-facets/release/internal/publisher"
)

// Permission is what CI's trusted publisher must be allowed in the
// configured release mode: publishing (direct) or staging (stage).
func Permission(cfg *config.Config) string {
	if cfg.Staged() {
		return publisher.PermStage
	}
	return publisher.PermPublish
}

// permissionDiff says how a configuration's permissions have differ from
// what perm needs; nothing when they fit. A configuration listed without
// permissions predates them on the registry and allows publishing. In
// stage mode a configuration that also allows publishing is drift: a CI
// token stolen from that workflow could publish without any approval.
func permissionDiff(perm string, have []string) []string {
	effective := have
	if len(effective) == 0 {
		effective = []string{publisher.PermPublish}
	}
	mode := config.ModeDirect
	if perm == publisher.PermStage {
		mode = config.ModeStage
	}
	switch {
	case !slices.Contains(effective, perm):
		return []string{fmt.Sprintf("permissions are %s, want %s: release.mode is %s, which needs %s (%s)",
			names(have), publisher.PermissionName(perm), mode, publisher.PermissionName(perm), perm)}
	case perm == publisher.PermStage && slices.Contains(effective, publisher.PermPublish):
		return []string{fmt.Sprintf("permissions are %s, want %s only: release.mode is stage, and a publisher that may also publish (%s) lets a CI token release without a maintainer's approval",
			names(have), publisher.PermissionName(perm), publisher.PermPublish)}
	}
	return nil
}

func names(perms []string) string {
	if len(perms) == 0 {
		return "not listed (publish)"
	}
	n := make([]string, len(perms))
	for i, p := range perms {
		n[i] = publisher.PermissionName(p)
	}
	return strings.Join(n, ", ")
}
