package config

import "fmt"

// The release modes (release.mode, and the -mode flag of the publishing
// targets).
const (
	// ModeDirect: CI publishes; the packages are public at once.
	ModeDirect = "direct"
	// ModeStage: CI stages (npm stage publish); nothing is public until a
	// maintainer approves the release with 2FA (release:approve).
	ModeStage = "stage"
)

// CheckMode returns an error unless mode is a release mode.
func CheckMode(mode string) error {
	if mode != ModeDirect && mode != ModeStage {
		return fmt.Errorf("%q is not a release mode: use %q (CI publishes) or %q (CI stages, a maintainer approves)", mode, ModeDirect, ModeStage)
	}
	return nil
}

// Staged reports whether CI stages releases rather than publishing them.
func (c *Config) Staged() bool { return c.Release.Mode == ModeStage }
