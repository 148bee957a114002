package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"go.uber.org/zap"

	"github.com/skewless/skewless/manifest"
)

// oneLine joins the lines of err (errors.Join puts each on its own) with
// "; ": every error a person reads is one line.
func oneLine(err error) string {
	return strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
}

// stateFolderError explains a failure to create or lock the server's
// state folder. Permission is the common one: a bind-mounted folder owned
// by another user than the container's.
func stateFolderError(builds string, err error) error {
	var locked *manifest.LockedError
	if errors.As(err, &locked) || !errors.Is(err, fs.ErrPermission) {
		return err
	}
	return fmt.Errorf("cannot write %s: permission denied; the user running skewless (uid %d) must be able to write the builds folder "+
		"(in Docker the image runs as uid 65532: chown 65532 the folder, or docker run --user \"$(id -u):$(id -g)\")",
		filepath.Join(builds, manifest.StateDir), os.Getuid())
}

// listenError says in one line why flag's address cannot be listened on,
// and what to do.
func listenError(flag, addr string, err error) error {
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("cannot listen on %s: the port is in use (another server?); stop it or pass %s HOST:PORT", addr, flag)
	case errors.Is(err, syscall.EACCES):
		return fmt.Errorf("cannot listen on %s: permission denied (ports below 1024 need privileges; e.g. %s :8080)", addr, flag)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return fmt.Errorf("cannot listen on %s: no such address on this machine; pass %s HOST:PORT with one of its addresses, or :PORT for all", addr, flag)
	}
	var ae *net.AddrError
	var dns *net.DNSError
	switch {
	case errors.As(err, &ae):
		return fmt.Errorf("cannot listen on %q: %s (%s takes HOST:PORT or :PORT)", addr, ae.Err, flag)
	case errors.As(err, &dns) && strings.HasPrefix(dns.Name, "tcp/"):
		return fmt.Errorf("cannot listen on %q: the port %q is not a number (%s takes HOST:PORT or :PORT)", addr, strings.TrimPrefix(dns.Name, "tcp/"), flag)
	case errors.As(err, &dns):
		return fmt.Errorf("cannot listen on %q: %s %q (%s takes HOST:PORT or :PORT)", addr, dns.Err, dns.Name, flag)
	}
	return fmt.Errorf("cannot listen on %s (%s): %w", addr, flag, err)
}

// serverURL is the URL a person opens for a server listening on addr: the
// address itself, or 127.0.0.1 when it listens on every
// interface, with the scheme and the base.
func serverURL(addr net.Addr, tls bool, base string) string {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return scheme + "://" + addr.String() + base
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1" // Go's listeners on "::" take IPv4 too
	}
	u := url.URL{Scheme: scheme, Host: net.JoinHostPort(host, port), Path: base}
	return u.String()
}

// reload is what SIGHUP does: read the certificate files again (a failure
// keeps the certificate that serves) and rescan the builds folder. The
// server goes on either way.
func reload(reg *manifest.Registry, cert *certificate, log *zap.Logger) {
	log.Info("SIGHUP: reloading")
	if cert != nil {
		if leaf, err := cert.reload(); err != nil {
			log.Error("TLS certificate not reloaded; the previous one keeps serving", zap.Error(err))
		} else {
			log.Info("TLS certificate reloaded", zap.String("subject", leaf.Subject.String()), zap.String("expires", certExpiry(leaf)))
		}
	}
	reg.Rescan()
}
