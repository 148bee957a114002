package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/skewless/skewless/manifest"
)

// baseFlag registers --base, the URL prefix the builds are served under.
// Commands that validate a build take it too: a build made for /app/
// loads /app/assets/..., which only the base maps into the build.
func baseFlag(fs *flag.FlagSet, dst *string) {
	fs.StringVar(dst, "base", "/", "the URL prefix the builds are served under, e.g. /app/ for a Vite build with base: '/app/' (the endpoints move to <base>_skewless/)")
}

// normalizeBase checks a --base value and gives it its slashes: "app",
// "/app" and "/app/" are all "/app/". A base is a plain URL path: no
// scheme or host (a CDN in front serves other hosts), no query, no
// escapes, no empty, "." or ".." segments.
func normalizeBase(b string) (string, error) {
	if b == "" || b == "/" {
		return "/", nil
	}
	if strings.Contains(b, "://") {
		return "", fmt.Errorf("--base %q: give the URL path the builds are served under (/app/), not a URL", b)
	}
	trimmed := strings.Trim(b, "/")
	for _, seg := range strings.Split(trimmed, "/") {
		if seg == "" || seg == "." || seg == ".." || !pathSegment(seg) {
			return "", fmt.Errorf("--base %q: not a plain URL path such as /app/ (letters, digits and -._~ in each segment)", b)
		}
	}
	return "/" + trimmed + "/", nil
}

// pathSegment reports whether seg holds only characters a path segment
// carries unescaped (RFC 3986 §3.3 pchar, less the ones people escape).
func pathSegment(seg string) bool {
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-._~!$&'()*+,;=:@", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// builtBaseFlag registers --base for the commands that validate a build
// for a builds folder (deploy, activate, status): by default the base the
// folder's server recorded in its state, so a build made for /app/ is
// checked as that server will serve it.
func builtBaseFlag(fs *flag.FlagSet, dst *string) {
	fs.StringVar(dst, "base", "", "the URL prefix the builds are served under, e.g. /app/ (default: the one the builds folder's server recorded, else /)")
}

// commandBase resolves a command's --base: as given, else the builds
// folder's recorded one, else "/".
func commandBase(given, builds string) (string, error) {
	if given == "" && builds != "" {
		if h, err := manifest.ReadHistory(builds); err == nil && h.Policy != nil {
			given = h.Policy.Base
		}
	}
	b, err := normalizeBase(given)
	if err != nil {
		return "", usageError{err.Error()}
	}
	return b, nil
}

// outsideBase answers a path outside --base: the base without its slash
// ("/app") is redirected to the base, as nginx's `location /app/` does;
// anything else is not the builds' to answer (404), as a server whose
// only location is the base says.
func (s *server) outsideBase(c *fiber.Ctx, p string) outcome {
	if p == strings.TrimSuffix(s.cfg.Base, "/") {
		loc := s.cfg.Base
		if q := c.Request().URI().QueryString(); len(q) > 0 {
			loc += "?" + string(q)
		}
		c.Set(fiber.HeaderLocation, loc)
		return s.writeStatus(c, fiber.StatusMovedPermanently, outRedirect)
	}
	return s.writeStatus(c, fiber.StatusNotFound, outNotFound)
}
