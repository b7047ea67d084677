package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/kadapter/kadapter/internal/cli"
)

// One --help convention for every command: usage on stdout, nothing on
// stderr, exit 0 (as Go's own tools do for -h).
func TestHelpOnStdout(t *testing.T) {
	for _, c := range program.Commands() {
		for _, h := range []string{"--help", "-h"} {
			var out, errb bytes.Buffer
			code := program.Run(context.Background(), cli.Env{Stdout: &out, Stderr: &errb, Stdin: strings.NewReader("")}, []string{c, h})
			if code != 0 || errb.Len() != 0 || !strings.Contains(out.String(), "Usage: krun "+c) {
				t.Errorf("krun %s %s: exit %d\nstdout %.200q\nstderr %.200q", c, h, code, out.String(), errb.String())
			}
		}
	}
}
