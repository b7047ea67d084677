package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func testProgram() *Program {
	p := NewProgram("prog", "does things")
	p.Register(&Command{Name: "ok", Summary: "succeeds", Run: func(ctx context.Context, env Env, args []string) error {
		fs := NewFlagSet("prog", "ok", "[--n N]", "Succeeds.", env.Stderr)
		n := fs.Int("n", 1, "a number")
		if err := ParseFlags(fs, args); err != nil {
			return err
		}
		if *n < 0 {
			return Usagef("--n must be >= 0, got %d", *n)
		}
		return nil
	}})
	p.Register(&Command{Name: "fail", Summary: "fails", Run: func(ctx context.Context, env Env, args []string) error {
		return errors.New("disk full")
	}})
	p.Register(&Command{Name: "cancel", Summary: "is interrupted", Run: func(ctx context.Context, env Env, args []string) error {
		return ctx.Err()
	}})
	p.Register(&Command{Name: "resumable", Summary: "is interrupted, can go on", Run: func(ctx context.Context, env Env, args []string) error {
		return Interrupted(ctx.Err(), "run it again with --resume to continue")
	}})
	p.Register(&Command{Name: "wrapped", Summary: "wraps its flag errors", Run: func(ctx context.Context, env Env, args []string) error {
		fs := NewFlagSet("prog", "wrapped", "", "Wraps.", env.Stdout)
		if err := ParseFlags(fs, args); err != nil {
			return fmt.Errorf("wrapped: %w", err)
		}
		return nil
	}})
	return p
}

func TestExitCodes(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		cancel   bool
		code     int
		inStderr string
		inStdout string
	}{
		{"no command", nil, false, ExitUsage, "Commands:", ""},
		{"help", []string{"--help"}, false, ExitOK, "", "ok         succeeds"},
		{"unknown", []string{"nope"}, false, ExitUsage, `unknown command "nope"`, ""},
		{"ok", []string{"ok"}, false, ExitOK, "", ""},
		{"command help", []string{"ok", "--help"}, false, ExitOK, "", "Usage: prog ok [--n N]"},
		{"command -h", []string{"ok", "-h"}, false, ExitOK, "", "-n int"},
		{"command -help", []string{"ok", "-help"}, false, ExitOK, "", "Succeeds."},
		{"wrapped help", []string{"wrapped", "--help"}, false, ExitOK, "", "Usage: prog wrapped"},
		{"bad flag", []string{"ok", "--bogus"}, false, ExitUsage, "flag provided but not defined", ""},
		{"bad value", []string{"ok", "--n", "-1"}, false, ExitUsage, "--n must be >= 0", ""},
		{"failure", []string{"fail"}, false, ExitFailed, "prog fail: disk full", ""},
		{"interrupted", []string{"cancel"}, true, exitCanceled, "interrupted", ""},
		{"interrupted, resumable", []string{"resumable"}, true, exitCanceled, "prog resumable: interrupted; no partial output was left behind\nprog resumable: run it again with --resume to continue\n", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			ctx, cancel := context.WithCancel(context.Background())
			if c.cancel {
				cancel()
			}
			defer cancel()
			code := testProgram().Run(ctx, Env{Stdout: &out, Stderr: &errb}, c.args)
			if code != c.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, c.code, errb.String())
			}
			if !strings.Contains(errb.String(), c.inStderr) {
				t.Errorf("stderr %q lacks %q", errb.String(), c.inStderr)
			}
			if !strings.Contains(out.String(), c.inStdout) {
				t.Errorf("stdout %q lacks %q", out.String(), c.inStdout)
			}
			// One convention: help on stdout only, errors on stderr only.
			if c.inStdout != "" && errb.Len() != 0 {
				t.Errorf("help also wrote to stderr: %q", errb.String())
			}
			if c.code == ExitUsage && strings.Contains(out.String(), "Usage") {
				t.Errorf("a usage error wrote to stdout: %q", out.String())
			}
		})
	}
}

func TestSplitList(t *testing.T) {
	cases := map[string][]string{"": nil, "P31": {"P31"}, " P31, ,P17 ": {"P31", "P17"}}
	for in, want := range cases {
		got := SplitList(in)
		if strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
			t.Errorf("SplitList(%q) = %q, want %q", in, got, want)
		}
	}
}
