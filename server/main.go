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
	{"status", "list every build with its state, when it retires and its open tabs", runStatus},
	{"block", "declare a build unsafe: its files stop being served, its tabs leave it", runBlock},
	{"unblock", "lift a block", runUnblock},
	{"prune", "delete the folders of retired builds (their retired markers stay)", runPrune},
	{"inspect", "show how a build folder would be served, file by file, without deploying it", runInspect},
	{"health", "ask a running server whether it serves (exit 0) or not (exit 1): for HEALTHCHECK and scripts", runHealth},
	{"version", "print the version of this binary (also: skewless --version)", runVersion},
}

func main() {
	os.Exit(run(os.Args[1:]))
}

// exitError carries an exit code; its message has already been printed.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func run(args []string) int {
	name := "serve"
	if len(args) > 0 {
		switch args[0] {
		case "help", "-h", "-help", "--help":
			return help(args[1:])
		case "-version", "--version":
			args[0] = "version"
		}
		if !isFlag(args[0]) {
			name, args = args[0], args[1:]
		}
	}
	for _, c := range commands {
		if c.name == name {
			return exitCode(name, c.run(args))
		}
	}
	fmt.Fprintf(os.Stderr, "skewless: unknown command %q (skewless help lists the commands)\n", name)
	return 2
}

// exitCode prints a command's error as one line and returns its exit code:
// 0, 2 for a mistake on the command line, 1 for anything else.
func exitCode(name string, err error) int {
	var ee exitError
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue):
		fmt.Fprintln(os.Stderr, errorLine(name, err))
		return 2
	}
	fmt.Fprintln(os.Stderr, errorLine(name, err))
	return 1
}

// help is `skewless help [COMMAND]` (and --help): the commands, or one
// command's flags, on stdout.
func help(args []string) int {
	if len(args) == 0 || isFlag(args[0]) {
		printUsage()
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			return exitCode(c.name, c.run([]string{"--help"}))
		}
	}
	fmt.Fprintf(os.Stderr, "skewless help: unknown command %q (skewless help lists the commands)\n", args[0])
	return 2
}

func isFlag(s string) bool { return len(s) > 0 && s[0] == '-' }

func printUsage() {
	fmt.Println("skewless: an origin server for single-page apps that keeps open tabs working across deploys")
	fmt.Println("\nusage: skewless [COMMAND] [flags]   (no command: serve)\n\ncommands:")
	for _, c := range commands {
		fmt.Printf("  %-9s %s\n", c.name, c.usage)
	}
	fmt.Println("\n`skewless COMMAND --help` (or `skewless help COMMAND`) lists a command's flags and their defaults;")
	fmt.Println("every flag can also be set as SKEWLESS_<NAME> in the environment (SKEWLESS_BUILDS=/builds).")
}
