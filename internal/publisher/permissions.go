package publisher

// The permissions a trusted-publisher configuration grants, as npm's
// registry names them (`permissions` in `npm trust list --json`).
const (
	// PermPublish allows `npm publish`.
	PermPublish = "createPackage"
	// PermStage allows `npm stage publish`.
	PermStage = "createStagedPackage"
)

// Flag is the `npm trust <provider>` flag that grants perm:
// --allow-publish or --allow-stage-publish.
func Flag(perm string) string {
	if perm == PermStage {
		return "--allow-stage-publish"
	}
	return "--allow-publish"
}

// PermissionName is perm in words, as npm prints it ("publish", "stage publish").
func PermissionName(perm string) string {
	switch perm {
	case PermPublish:
		return "publish"
	case PermStage:
		return "stage publish"
	}
	return perm
}
