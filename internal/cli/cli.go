// Package cli is the small command framework shared by kprep and krun:
// subcommand registration, usage errors (exit 2), failures (exit 1) and a
// context cancelled on SIGINT/SIGTERM so long runs stop cleanly.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// Exit codes shared by every kadapter command.
const (
	ExitOK       = 0 // the command did its job
	ExitFailed   = 1 // the command ran and failed (bad input under --strict, I/O error, ...)
	ExitUsage    = 2 // the command line itself was wrong
	exitCanceled = 130
)

// Env is what a command may touch besides its arguments: its standard
// streams. Commands never write to os.Stdout directly so tests can run them.
type Env struct {
	Stdout io.Writer
	Stderr io.Writer
	Stdin  io.Reader
}

// Command is one subcommand of a program.
type Command struct {
	// Name is the word that selects the command ("trex", "features", ...).
	Name string
	// Summary is one line shown in the program's command list.
	Summary string
	// Run executes the command with the arguments that follow its name.
	// Return a UsageError for a bad command line.
	Run func(ctx context.Context, env Env, args []string) error
}

// UsageError marks an error in the command line: the program prints it and
// exits with ExitUsage.
type UsageError struct{ Err error }

// Error returns the message of the wrapped error.
func (e *UsageError) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// Program is a set of commands under one binary name.
type Program struct {
	Name     string
	Summary  string
	commands map[string]*Command
}

// NewProgram returns an empty program.
func NewProgram(name, summary string) *Program {
	return &Program{Name: name, Summary: summary, commands: map[string]*Command{}}
}

// Register adds a command; registering the same name twice panics.
func (p *Program) Register(c *Command) {
	if _, dup := p.commands[c.Name]; dup {
		panic("cli: command registered twice: " + c.Name)
	}
	p.commands[c.Name] = c
}

// Commands returns the names of the registered commands, sorted.
func (p *Program) Commands() []string {
	names := make([]string, 0, len(p.commands))
	for n := range p.commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Usage writes the program's help text.
func (p *Program) Usage(w io.Writer) {
	fmt.Fprintf(w, "%s: %s\n\nUsage:\n  %s COMMAND [flags]\n\nCommands:\n", p.Name, p.Summary, p.Name)
	names := make([]string, 0, len(p.commands))
	for n := range p.commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, p.commands[n].Summary)
	}
	fmt.Fprintf(w, "\nRun '%s COMMAND --help' for a command's flags.\n", p.Name)
}

// Run dispatches args (without the program name) and returns the exit code.
func (p *Program) Run(ctx context.Context, env Env, args []string) int {
	if len(args) == 0 {
		p.Usage(env.Stderr)
		return ExitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		p.Usage(env.Stdout)
		return ExitOK
	}
	c, ok := p.commands[args[0]]
	if !ok {
		fmt.Fprintf(env.Stderr, "%s: unknown command %q\n\n", p.Name, args[0])
		p.Usage(env.Stderr)
		return ExitUsage
	}
	err := c.Run(ctx, env, args[1:])
	return p.report(env, c.Name, err, ctx)
}

func (p *Program) report(env Env, name string, err error, ctx context.Context) int {
	if err == nil {
		return ExitOK
	}
	var help *helpRequest
	if errors.As(err, &help) {
		help.PrintUsage(env.Stdout)
		return ExitOK
	}
	if errors.Is(err, ErrHelp) {
		return ExitOK
	}
	var ue *UsageError
	if errors.As(err, &ue) {
		fmt.Fprintf(env.Stderr, "%s %s: %v\n", p.Name, name, err)
		fmt.Fprintf(env.Stderr, "Run '%s %s --help' for usage.\n", p.Name, name)
		return ExitUsage
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		fmt.Fprintf(env.Stderr, "%s %s: interrupted; no partial output was left behind\n", p.Name, name)
		var ie *interruptedError
		if errors.As(err, &ie) && ie.hint != "" {
			fmt.Fprintf(env.Stderr, "%s %s: %s\n", p.Name, name, ie.hint)
		}
		return exitCanceled
	}
	fmt.Fprintf(env.Stderr, "%s %s: %v\n", p.Name, name, err)
	return ExitFailed
}

// ErrHelp is what ParseFlags returns (errors.Is) when the user asked for
// -h/--help: Program.Run prints the command's usage on stdout and exits 0.
// A command that prints its own help on stdout may return ErrHelp itself.
var ErrHelp = errors.New("help requested")

// Interrupted wraps the error of a command stopped by SIGINT/SIGTERM
// (ctx.Err()) with a hint that Program.Run prints after "interrupted",
// such as how to continue the work.
func Interrupted(err error, hint string) error { return &interruptedError{err: err, hint: hint} }

type interruptedError struct {
	err  error
	hint string
}

// Error implements error.
func (e *interruptedError) Error() string { return e.err.Error() }

// Unwrap returns the cancellation error.
func (e *interruptedError) Unwrap() error { return e.err }

// Main runs the program on os.Args with a context cancelled by SIGINT or
// SIGTERM, and exits with the command's code.
func (p *Program) Main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := p.Run(ctx, Env{Stdout: os.Stdout, Stderr: os.Stderr, Stdin: os.Stdin}, os.Args[1:])
	stop()
	os.Exit(code)
}

// SplitList splits a comma-separated flag value, dropping empty items, so
// that "" means an empty list.
func SplitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
