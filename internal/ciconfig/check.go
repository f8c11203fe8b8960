package ciconfig

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Check compares the committed file at path with want, the freshly
// generated content. It returns nil when they are equal, and otherwise an
// error that holds a unified diff (committed → generated) and says to run
// `mage ci:generate`.
func Check(path string, want []byte) error {
	got, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s does not exist: run `go tool mage ci:generate` to create it, then commit it", path)
		}
		return fmt.Errorf("check %s: %w", path, err)
	}
	if bytes.Equal(got, want) {
		return nil
	}
	d := Diff(path+" (committed)", path+" (generated)", string(got), string(want))
	return fmt.Errorf("%s differs from what the release configuration generates: it was edited by hand or the configuration changed; run `go tool mage ci:generate` and commit the result\n%s", path, d)
}

// diffContext is how many unchanged lines surround each change.
const diffContext = 3

// maxDiffCells bounds the line-diff table; larger inputs get a short report.
const maxDiffCells = 4_000_000

type op struct {
	kind byte // ' ', '-', '+'
	text string
}

// Diff returns a unified diff of a (named oldName) to b (named newName),
// line by line, or "" when they are equal. It finds a longest common
// subsequence of lines, which is plenty for files of a few hundred lines.
func Diff(oldName, newName, a, b string) string {
	if a == b {
		return ""
	}
	x, y := splitLines(a), splitLines(b)
	var buf strings.Builder
	fmt.Fprintf(&buf, "--- %s\n+++ %s\n", oldName, newName)
	if (len(x)+1)*(len(y)+1) > maxDiffCells {
		for i := 0; i < len(x) || i < len(y); i++ {
			if i >= len(x) || i >= len(y) || x[i] != y[i] {
				fmt.Fprintf(&buf, "(files too large for a full diff; first difference at line %d)\n", i+1)
				break
			}
		}
		return buf.String()
	}
	ops := lcsOps(x, y)
	writeHunks(&buf, ops)
	return buf.String()
}

// splitLines splits s into lines, marking a missing final newline the way
// diff(1) does.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for i, l := range lines {
		if strings.HasSuffix(l, "\n") {
			lines[i] = strings.TrimSuffix(l, "\n")
		} else {
			lines[i] = l + "\n\\ No newline at end of file"
		}
	}
	return lines
}

// lcsOps turns a longest-common-subsequence table into edit operations.
func lcsOps(x, y []string) []op {
	n, k := len(x), len(y)
	// l[i][j] is the LCS length of x[i:] and y[j:].
	l := make([][]int32, n+1)
	for i := range l {
		l[i] = make([]int32, k+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := k - 1; j >= 0; j-- {
			if x[i] == y[j] {
				l[i][j] = l[i+1][j+1] + 1
			} else {
				l[i][j] = max(l[i+1][j], l[i][j+1])
			}
		}
	}
	ops := make([]op, 0, n+k)
	i, j := 0, 0
	for i < n && j < k {
		switch {
		case x[i] == y[j]:
			ops = append(ops, op{' ', x[i]})
			i++
			j++
		case l[i+1][j] >= l[i][j+1]:
			ops = append(ops, op{'-', x[i]})
			i++
		default:
			ops = append(ops, op{'+', y[j]})
			j++
		}
	}
	for ; i < n; i++ {
		ops = append(ops, op{'-', x[i]})
	}
	for ; j < k; j++ {
		ops = append(ops, op{'+', y[j]})
	}
	return ops
}

// writeHunks writes the changes with diffContext lines around them, in
// hunks headed "@@ -start,count +start,count @@".
func writeHunks(buf *strings.Builder, ops []op) {
	// oldAt[i] and newAt[i] are the 1-based line numbers before ops[i].
	oldAt, newAt := make([]int, len(ops)+1), make([]int, len(ops)+1)
	oldAt[0], newAt[0] = 1, 1
	for i, o := range ops {
		oldAt[i+1], newAt[i+1] = oldAt[i], newAt[i]
		if o.kind != '+' {
			oldAt[i+1]++
		}
		if o.kind != '-' {
			newAt[i+1]++
		}
	}
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		start := max(0, i-diffContext)
		end := i
		// Extend the hunk while the next change is close enough to join it.
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run == len(ops) || run-end > 2*diffContext {
				end = min(len(ops), end+diffContext)
				break
			}
			end = run
		}
		oldCount, newCount := oldAt[end]-oldAt[start], newAt[end]-newAt[start]
		fmt.Fprintf(buf, "@@ -%s +%s @@\n", span(oldAt[start], oldCount), span(newAt[start], newCount))
		for _, o := range ops[start:end] {
			buf.WriteByte(o.kind)
			buf.WriteString(o.text)
			buf.WriteByte('\n')
		}
		i = end
	}
}

// span formats a hunk range as diff(1) does: an empty range names the line before it.
func span(start, count int) string {
	if count == 0 {
		return fmt.Sprintf("%d,0", start-1)
	}
	if count == 1 {
		return fmt.Sprint(start)
	}
	return fmt.Sprintf("%d,%d", start, count)
}
