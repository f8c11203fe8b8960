// Package fanout runs one function over many items with a bound on how many
// run at once: the builds of the targets, the platform publishes of a
// matrix, the packages a seed checks. One item's failure does not stop the
// others: every result comes back, in the items' order.
package fanout

import "sync"

// Each calls f for every item, at most limit at a time (at least one), and
// returns the results in the order of items.
func Each[T, R any](limit int, items []T, f func(i int, item T) R) []R {
	if limit < 1 {
		limit = 1
	}
	out := make([]R, len(items))
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i, item := range items {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = f(i, item)
		}()
	}
	wg.Wait()
	return out
}
