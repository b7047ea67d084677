package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// NewFlagSet returns a flag set that reports errors instead of exiting and
// prints usage (a synopsis, a description and the flags) to w on --help.
func NewFlagSet(program, command, synopsis, description string, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(program+" "+command, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprintf(w, "Usage: %s %s %s\n\n", program, command, synopsis)
		if description != "" {
			fmt.Fprintf(w, "%s\n\n", strings.TrimSpace(description))
		}
		fmt.Fprintln(w, "Flags:")
		fs.PrintDefaults()
	}
	return fs
}

// ParseFlags parses args with fs. It returns ErrHelp after printing help for
// -h/--help, a UsageError for any other parse problem, and nil otherwise.
func ParseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return ErrHelp
	}
	if err != nil {
		return &UsageError{Err: err}
	}
	return nil
}

// StringList is a repeatable string flag (--in a --in b); each value may also
// hold several comma-free paths separated by nothing else.
type StringList []string

// String implements flag.Value.
func (s *StringList) String() string { return strings.Join(*s, ",") }

// Set implements flag.Value.
func (s *StringList) Set(v string) error { *s = append(*s, v); return nil }
