package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// version is the release this binary was built as, set by the release
// build (go build -ldflags "-X main.version=v1.4.0", as the Dockerfile's
// VERSION argument does). Empty: the module version Go recorded, which is
// the tag for `go install …@v1.4.0` and "(devel)" for a build from a
// checkout, whose commit Go records beside it.
var version string

// runVersion is `skewless version` (and `skewless --version`).
func runVersion(args []string) error {
	fs := newFlagSet("version", "")
	if _, err := commandArgs(fs, args); err != nil {
		return err
	}
	info, _ := debug.ReadBuildInfo()
	fmt.Println(versionLine(version, info))
	return nil
}

// versionLine is one line: the version, the commit the binary was built
// from (with "+dirty" when the checkout had changes, and the commit's
// time), and the Go toolchain and platform. Fields Go did not record
// (a build outside a checkout, -buildvcs=false) are left out.
func versionLine(release string, info *debug.BuildInfo) string {
	v := release
	settings := map[string]string{}
	goVersion := runtime.Version()
	if info != nil {
		if v == "" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			settings[s.Key] = s.Value
		}
		if info.GoVersion != "" {
			goVersion = info.GoVersion
		}
	}
	if v == "" {
		v = "(devel)"
	}
	parts := []string{"skewless " + v}
	if rev := settings["vcs.revision"]; rev != "" {
		commit := "commit " + rev[:min(len(rev), 12)]
		if settings["vcs.modified"] == "true" {
			commit += "+dirty"
		}
		if t := settings["vcs.time"]; t != "" {
			commit += " (" + t + ")"
		}
		parts = append(parts, commit)
	}
	parts = append(parts, goVersion+" "+runtime.GOOS+"/"+runtime.GOARCH)
	return strings.Join(parts, ", ")
}
