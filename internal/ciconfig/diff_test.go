package ciconfig

import (
	"fmt"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	long := func(change func(i int) string) string {
		var b strings.Builder
		for i := 1; i <= 20; i++ {
			b.WriteString(change(i) + "\n")
		}
		return b.String()
	}
	same := func(i int) string { return fmt.Sprint("line ", i) }
	for _, tc := range []struct {
		name, a, b, want string
	}{
		{"equal", "a\nb\n", "a\nb\n", ""},
		{"one line changed", "a\nb\nc\n", "a\nB\nc\n",
			"--- old\n+++ new\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"},
		{"line added at the end", "a\nb\n", "a\nb\nc\n",
			"--- old\n+++ new\n@@ -1,2 +1,3 @@\n a\n b\n+c\n"},
		{"line removed at the start", "a\nb\n", "b\n",
			"--- old\n+++ new\n@@ -1,2 +1 @@\n-a\n b\n"},
		{"from empty", "", "a\n",
			"--- old\n+++ new\n@@ -0,0 +1 @@\n+a\n"},
		{"missing final newline", "a\nb", "a\nb\n",
			"--- old\n+++ new\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n"},
		{"two changes far apart make two hunks",
			long(same),
			long(func(i int) string {
				if i == 2 || i == 18 {
					return "changed"
				}
				return same(i)
			}),
			"--- old\n+++ new\n" +
				"@@ -1,5 +1,5 @@\n line 1\n-line 2\n+changed\n line 3\n line 4\n line 5\n" +
				"@@ -15,6 +15,6 @@\n line 15\n line 16\n line 17\n-line 18\n+changed\n line 19\n line 20\n"},
		{"two changes close together make one hunk",
			long(same),
			long(func(i int) string {
				if i == 5 || i == 9 {
					return "changed"
				}
				return same(i)
			}),
			"--- old\n+++ new\n" +
				"@@ -2,11 +2,11 @@\n line 2\n line 3\n line 4\n-line 5\n+changed\n line 6\n line 7\n line 8\n-line 9\n+changed\n line 10\n line 11\n line 12\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Diff("old", "new", tc.a, tc.b); got != tc.want {
				t.Errorf("Diff =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
