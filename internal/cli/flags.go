package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// NewFlagSet returns a flag set that reports errors instead of exiting.
// Its usage text is a synopsis, a description and the flags. w is the
// flag set's output outside ParseFlags; the help that ParseFlags asks for
// is always printed by Program.Run on the command's stdout, whatever w
// is, and parse errors on its stderr (one convention for every command).
func NewFlagSet(program, command, synopsis, description string, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(program+" "+command, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: %s %s %s\n\n", program, command, synopsis)
		if description != "" {
			fmt.Fprintf(w, "%s\n\n", strings.TrimSpace(description))
		}
		fmt.Fprintln(w, "Flags:")
		fs.PrintDefaults()
	}
	return fs
}

// ParseFlags parses args with fs. For -h/-help/--help it returns an error
// that matches ErrHelp (errors.Is) and carries fs's usage: returned from a
// command, Program.Run prints that usage on stdout and exits 0. Any other
// parse problem is a UsageError (printed on stderr, exit 2); nothing is
// printed while parsing.
func ParseFlags(fs *flag.FlagSet, args []string) error {
	out, usage := fs.Output(), fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.SetOutput(out)
	fs.Usage = usage
	if errors.Is(err, flag.ErrHelp) {
		return &helpRequest{fs: fs}
	}
	if err != nil {
		return &UsageError{Err: err}
	}
	return nil
}

// helpRequest is ParseFlags' answer to --help: it is ErrHelp, and knows
// the flag set whose usage to print.
type helpRequest struct{ fs *flag.FlagSet }

// Error implements error.
func (h *helpRequest) Error() string { return ErrHelp.Error() }

// Is makes errors.Is(err, ErrHelp) true.
func (h *helpRequest) Is(target error) bool { return target == ErrHelp }

// PrintUsage writes the usage text of the flag set to w.
func (h *helpRequest) PrintUsage(w io.Writer) {
	out := h.fs.Output()
	h.fs.SetOutput(w)
	h.fs.Usage()
	h.fs.SetOutput(out)
}

// StringList is a repeatable string flag (--in a --in b); each value may also
// hold several comma-free paths separated by nothing else.
type StringList []string

// String implements flag.Value.
func (s *StringList) String() string { return strings.Join(*s, ",") }

// Set implements flag.Value.
func (s *StringList) Set(v string) error { *s = append(*s, v); return nil }
