package publish

import (
	"testing"
	"time"
)

// TestProportionalSchedule: a version visible after T is noticed within
// max(Min, T/10) of T, never the doubling that overshoots up to 100%.
func TestProportionalSchedule(t *testing.T) {
	for _, visibleAfter := range []time.Duration{5 * time.Second, 30 * time.Second, 90 * time.Second, 65 * time.Second} {
		now := time.Unix(0, 0)
		p := &Proportional{Min: 500 * time.Millisecond, Max: 15 * time.Second, now: func() time.Time { return now }}
		p.Reset()
		start := now
		for now.Sub(start) < visibleAfter {
			now = now.Add(p.NextBackOff())
		}
		overshoot := now.Sub(start) - visibleAfter
		limit := visibleAfter / 10
		if limit < time.Second {
			limit = time.Second
		}
		if overshoot > limit {
			t.Errorf("visible after %s, noticed after %s: overshoot %s > %s", visibleAfter, now.Sub(start), overshoot, limit)
		}
	}
}
