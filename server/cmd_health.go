package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"
)

// runHealth is `skewless health`: it asks a server's /_skewless/health and
// exits 0 when it answers 200 (a current build serves), 1 otherwise, with
// one line either way. It reads the environment serve reads
// (SKEWLESS_ADDR, SKEWLESS_BASE, SKEWLESS_TLS_CERT), so in a container
// `skewless health` alone probes the server beside it: Docker's
// HEALTHCHECK needs no shell and no curl.
func runHealth(args []string) error {
	fs := newFlagSet("health", "[--addr HOST:PORT | --url URL] [--base /app/] [--timeout 3s] [--insecure]")
	var addr, rawURL, base, cert string
	var timeout time.Duration
	var insecure bool
	fs.StringVar(&addr, "addr", ":8080", "the address the server listens on, as serve's --addr (asked on 127.0.0.1 when it listens on every interface)")
	fs.StringVar(&rawURL, "url", "", "ask this URL instead of --addr's (e.g. https://example.com/app/_skewless/health)")
	baseFlag(fs, &base)
	fs.StringVar(&cert, "tls-cert", "", "the server's --tls-cert: when set, ask over HTTPS without checking the certificate (it is this machine's own server)")
	fs.DurationVar(&timeout, "timeout", 3*time.Second, "how long to wait for the answer")
	fs.BoolVar(&insecure, "insecure", false, "with an https --url, accept any certificate (a self-signed one)")
	if _, err := commandArgs(fs, args); err != nil {
		return err
	}
	if timeout <= 0 {
		return usagef("--timeout must be positive")
	}
	target, skipVerify, err := healthTarget(addr, rawURL, base, cert != "", insecure)
	if err != nil {
		return err
	}
	line, err := probeHealth(target, timeout, skipVerify)
	if err != nil {
		return err
	}
	fmt.Println(line)
	return nil
}

// healthTarget is the URL to ask, and whether its certificate goes
// unchecked.
func healthTarget(addr, rawURL, base string, tlsServer, insecure bool) (string, bool, error) {
	if rawURL != "" {
		u, err := url.Parse(rawURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", false, usagef("--url %q: give an http:// or https:// URL", rawURL)
		}
		if u.Path == "" || u.Path == "/" {
			u.Path = "/_skewless/health"
		}
		return u.String(), insecure || tlsServer, nil
	}
	b, err := normalizeBase(base)
	if err != nil {
		return "", false, usageError{err.Error()}
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", false, usagef("--addr %q: give HOST:PORT or :PORT, as serve's --addr", addr)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	scheme := "http"
	if tlsServer {
		scheme = "https"
	}
	u := url.URL{Scheme: scheme, Host: net.JoinHostPort(host, port), Path: b + "_skewless/health"}
	return u.String(), tlsServer || insecure, nil
}

// probeHealth asks target once and describes the answer: a line for 200,
// an error (exit 1) for anything else.
func probeHealth(target string, timeout time.Duration, skipVerify bool) (string, error) {
	client := &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DisableKeepAlives: true,
			Proxy:             nil,                                         // a local probe never goes through HTTP_PROXY
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: skipVerify}, //nolint:gosec // asked for: --insecure, or this machine's own server
		},
		// A redirect is not health: the health URL is wrong.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Get(target)
	if err != nil {
		return "", reachError(target, err, timeout)
	}
	defer resp.Body.Close()
	var body struct{ Status, Version string }
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	_ = json.Unmarshal(b, &body)
	switch {
	case resp.StatusCode == http.StatusOK && body.Version != "":
		return fmt.Sprintf("ok: %s answered 200, serving %s", target, body.Version), nil
	case resp.StatusCode == http.StatusOK:
		return fmt.Sprintf("ok: %s answered 200", target), nil
	case body.Status != "":
		return "", fmt.Errorf("%s answered %d: %s", target, resp.StatusCode, body.Status)
	}
	return "", fmt.Errorf("%s answered %d (not skewless's health endpoint? check --base)", target, resp.StatusCode)
}

// reachError says why no answer came.
func reachError(target string, err error, timeout time.Duration) error {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("%s did not answer within %s", target, timeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("cannot reach %s: connection refused (is skewless serve running there?)", target)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("cannot reach %s: %v", target, err)
}
