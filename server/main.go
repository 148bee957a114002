// Command skewless is an origin server for single-page apps that keeps open
// tabs working across deploys. See README.md.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
)

// command is one sub-command of the binary.
type command struct {
	name  string
	usage string
	run   func(args []string) error
}

var commands = []command{
	{"serve", "serve the builds folder (the default)", runServe},
	{"deploy", "validate a build and move it into the builds folder atomically", runDeploy},
	{"activate", "make a build current (rollback or roll-forward)", runActivate},
	{"status", "list every build with its state and open tabs", runStatus},
	{"block", "declare a build unsafe: its files stop being served, its tabs leave it", runBlock},
	{"unblock", "lift a block", runUnblock},
	{"inspect", "show how a build folder would be served, file by file, without deploying it", runInspect},
}

func main() {
	os.Exit(run(os.Args[1:]))
}

// exitError carries an exit code; its message has already been printed.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func run(args []string) int {
	name := "serve"
	if len(args) > 0 && !isFlag(args[0]) {
		name, args = args[0], args[1:]
	}
	if name == "help" {
		printUsage()
		return 0
	}
	for _, c := range commands {
		if c.name != name {
			continue
		}
		err := c.run(args)
		var ee exitError
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &ee):
			return ee.code
		default:
			fmt.Fprintf(os.Stderr, "skewless %s: %v\n", name, err)
			return 1
		}
	}
	fmt.Fprintf(os.Stderr, "skewless: unknown command %q\n\n", name)
	printUsage()
	return 2
}

func isFlag(s string) bool { return len(s) > 0 && s[0] == '-' }

func printUsage() {
	fmt.Fprintln(os.Stderr, "usage: skewless [command] [flags]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(os.Stderr, "  %-9s %s\n", c.name, c.usage)
	}
	fmt.Fprintln(os.Stderr, "\n`skewless COMMAND --help` lists a command's flags and their defaults.")
}
