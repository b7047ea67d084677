package main

import (
	"strings"
	"testing"
)

// One --help convention for every command and subcommand: usage on
// stdout, nothing on stderr, exit 0 (as Go's own tools do for -h).
func TestHelpOnStdout(t *testing.T) {
	cmds := [][]string{}
	for _, c := range program.Commands() {
		cmds = append(cmds, []string{c})
	}
	for _, sub := range []string{"bookcorpus", "parse", "train", "eval"} {
		cmds = append(cmds, []string{"deps", sub})
	}
	if len(cmds) < 8 {
		t.Fatalf("commands %v", cmds)
	}
	for _, c := range cmds {
		for _, h := range []string{"--help", "-h"} {
			code, stdout, stderr := runKprep(t, append(c, h)...)
			if code != 0 || stderr != "" || !strings.Contains(stdout, "Usage") || !strings.Contains(stdout, "kprep "+strings.Join(c, " ")) {
				t.Errorf("kprep %s %s: exit %d\nstdout %.200q\nstderr %.200q", strings.Join(c, " "), h, code, stdout, stderr)
			}
		}
	}
	// A bad flag is a usage error on stderr, with nothing on stdout.
	code, stdout, stderr := runKprep(t, "trex", "--bogus")
	if code != 2 || stdout != "" || !strings.Contains(stderr, "flag provided but not defined: -bogus") || !strings.Contains(stderr, "kprep trex --help") {
		t.Errorf("bad flag: exit %d\nstdout %q\nstderr %q", code, stdout, stderr)
	}
}
