//go:build mage

// The release toolkit's targets. "mage -l" lists them and "mage -h <target>"
// prints a target's manual; they live in internal/tasks.
package main

//mage:multiline

import (
	// mage:import
	_ "github.com/agent-facets/release/internal/tasks"
)
