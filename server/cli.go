package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"time"
)

// usageError is a mistake on the command line. It is printed as one line,
// "skewless CMD: <msg>", and the command exits 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// parseArgs applies the environment and the command line to fs and returns
// the positional arguments. --help prints the command's usage on stdout
// and returns flag.ErrHelp (exit 0); any other mistake is a usageError of
// one line, never the flag package's own message followed by every flag.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(discard{})
	pos, err := parseFlags(fs, args)
	switch {
	case err == nil:
		return pos, nil
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(os.Stdout)
		fs.Usage()
		return nil, flag.ErrHelp
	}
	return nil, usageError{flagMessage(fs, err)}
}

// commandArgs is parseArgs for a command that takes exactly the
// positional arguments named.
func commandArgs(fs *flag.FlagSet, args []string, names ...string) ([]string, error) {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	switch {
	case len(pos) < len(names):
		return nil, usagef("missing %s (usage: skewless %s %s)", names[len(pos)], fs.Name(), usageLine(fs))
	case len(pos) > len(names) && usageLine(fs) == "":
		return nil, usagef("unexpected argument %q (skewless %s takes no arguments)", pos[len(names)], fs.Name())
	case len(pos) > len(names):
		return nil, usagef("unexpected argument %q (usage: skewless %s %s)", pos[len(names)], fs.Name(), usageLine(fs))
	}
	return pos, nil
}

// usageLines are the argument summaries newFlagSet was given, by command
// name (string to string). A sync.Map: flag sets are made concurrently
// (tests that build configs in parallel).
var usageLines sync.Map

func usageLine(fs *flag.FlagSet) string {
	v, _ := usageLines.Load(fs.Name())
	s, _ := v.(string)
	return s
}

var (
	reUndefined = regexp.MustCompile(`^flag provided but not defined: -+(.*)$`)
	reNeedsArg  = regexp.MustCompile(`^flag needs an argument: -+(.*)$`)
	reBadValue  = regexp.MustCompile(`^invalid (?:boolean )?value "(.*)" for (?:flag )?-+([^:]*): (.*)$`)
	reEnvValue  = regexp.MustCompile(`^(SKEWLESS_[A-Z_]+)="(.*)": (?:invalid (?:boolean )?value ".*" for (?:flag )?-+[^:]*: )?(.*)$`)
)

// flagMessage turns the flag package's errors into one line that names
// the flag as people type it (--grace) and says what it wants.
func flagMessage(fs *flag.FlagSet, err error) string {
	text := err.Error()
	if m := reEnvValue.FindStringSubmatch(text); m != nil {
		name := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(m[1], "SKEWLESS_"), "_", "-"))
		return fmt.Sprintf("%s=%q: %s", m[1], m[2], valueProblem(fs, name, m[3]))
	}
	if m := reUndefined.FindStringSubmatch(text); m != nil {
		if m[1] == "version" && fs.Name() == "serve" {
			return "unknown flag --version here: skewless --version (or skewless version) prints the version"
		}
		return fmt.Sprintf("unknown flag --%s (skewless %s --help lists the flags)", m[1], fs.Name())
	}
	if m := reNeedsArg.FindStringSubmatch(text); m != nil {
		return fmt.Sprintf("--%s needs a value", m[1])
	}
	if m := reBadValue.FindStringSubmatch(text); m != nil {
		return fmt.Sprintf("--%s %q: %s", m[2], m[1], valueProblem(fs, m[2], m[3]))
	}
	return text
}

// valueProblem says what flag name wants, for a value it refused with
// reason (the flag package says only "parse error").
func valueProblem(fs *flag.FlagSet, name, reason string) string {
	if reason != "parse error" && reason != "value out of range" {
		return reason
	}
	f := fs.Lookup(name)
	if f == nil {
		return reason
	}
	getter, ok := f.Value.(flag.Getter)
	if !ok {
		return reason
	}
	switch getter.Get().(type) {
	case time.Duration:
		return "not a duration (e.g. 300ms, 90s, 15m, 24h)"
	case bool:
		return "not true or false"
	case int, int64, uint, uint64:
		if reason == "value out of range" {
			return "out of range"
		}
		return "not a whole number"
	}
	return reason + " (" + reflect.TypeOf(getter.Get()).String() + ")"
}

// discard swallows the flag package's own output: parseArgs says what
// went wrong in one line instead.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// errorLine is how a failed command's error reads: one line, however the
// error was wrapped.
func errorLine(cmd string, err error) string {
	msg := strings.TrimSpace(err.Error())
	msg = strings.Join(strings.Fields(strings.ReplaceAll(msg, "\n", " ")), " ")
	return "skewless " + cmd + ": " + msg
}

// checkBuildsFolder says, in one line, why dir cannot be a builds folder:
// missing, not a folder, unreadable. Nil when it is one.
func checkBuildsFolder(dir string) error {
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("builds folder %q does not exist; create it or pass --builds DIR", dir)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("builds folder %q cannot be read: permission denied (the user running skewless, uid %d, needs access)", dir, os.Getuid())
	case err != nil:
		return fmt.Errorf("builds folder %q: %w", dir, err)
	case !info.IsDir():
		return fmt.Errorf("builds folder %q is not a folder; pass --builds DIR", dir)
	}
	if _, err := os.ReadDir(dir); err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("builds folder %q cannot be read: permission denied (the user running skewless, uid %d, needs access)", dir, os.Getuid())
		}
		return fmt.Errorf("builds folder %q: %w", dir, err)
	}
	return nil
}

// checkSourceFolder says, in one line, why src cannot be a build to read.
func checkSourceFolder(src string) error {
	info, err := os.Stat(src)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("build folder %q does not exist (give the folder your build tool wrote, e.g. dist)", src)
	case err != nil:
		return fmt.Errorf("build folder %q: %w", src, err)
	case !info.IsDir():
		return fmt.Errorf("%q is not a folder (give the folder your build tool wrote, e.g. dist)", src)
	}
	return nil
}
