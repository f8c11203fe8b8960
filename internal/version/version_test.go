package version

import (
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	tests := []struct {
		name, arg, tag, from string
		want, err            string
	}{
		{name: "argument", arg: "1.2.3", want: "1.2.3"},
		{name: "argument with prefix", arg: "agent-facets@1.2.3", want: "1.2.3"},
		{name: "argument wins over the tag", arg: "1.2.3", tag: "agent-facets@2.0.0", from: "CIRCLE_TAG", want: "1.2.3"},
		{name: "prerelease", arg: "1.2.3-rc.1", want: "1.2.3-rc.1"},
		{name: "v prefix refused", arg: "v1.2.3", err: `version "v1.2.3" is not valid semver`},
		{name: "tag", tag: "agent-facets@2.0.0", from: "CIRCLE_TAG", want: "2.0.0"},
		{name: "adapter tag refused", tag: "@agent-facets/adapter@1.0.0", from: "CIRCLE_TAG", err: `CIRCLE_TAG="@agent-facets/adapter@1.0.0" is not a release tag`},
		{name: "nothing", err: "no release version: pass it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve(tt.arg, "agent-facets@", tt.tag, tt.from)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestOrder(t *testing.T) {
	if !IsPrerelease("1.0.0-beta.1") || IsPrerelease("1.0.0") {
		t.Error("IsPrerelease")
	}
	if !Less("1.2.3", "1.10.0") || Less("2.0.0", "1.9.9") || Less("x", "1.0.0") {
		t.Error("Less")
	}
}
