package cli

import (
	"flag"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		reason string
		args   []string
		code   int
		ok     bool
		want   string
	}{
		{"no arguments", nil, 0, true, ""},
		{"-h is a success", []string{"-h"}, ExitOK, false, "Usage of prog"},
		{"an unknown flag", []string{"-nope"}, ExitUsage, false, "flag provided but not defined: -nope"},
		{"an argument", []string{"-v", "x"}, ExitUsage, false, `prog: unexpected argument "x"`},
	} {
		var out strings.Builder
		fs := flag.NewFlagSet("prog", flag.ContinueOnError)
		fs.SetOutput(&out)
		fs.Bool("v", false, "verbose")
		code, ok := Parse(fs, tt.args)
		if code != tt.code || ok != tt.ok || !strings.Contains(out.String(), tt.want) {
			t.Errorf("%s: Parse(%q) = %d, %v, output %q; want %d, %v, %q", tt.reason, tt.args, code, ok, out.String(), tt.code, tt.ok, tt.want)
		}
	}
}
