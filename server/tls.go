package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"
)

// certificate serves the TLS certificate of --tls-cert/--tls-key and
// reloads it from the files on demand (SIGHUP): a renewed certificate
// (certbot, cert-manager) is taken without a restart, and a handshake in
// progress keeps the one it started with. A reload that fails keeps the
// certificate that serves.
type certificate struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

// loadCertificate reads the pair once; the server does not start without it.
func loadCertificate(certFile, keyFile string) (*certificate, error) {
	c := &certificate{certFile: certFile, keyFile: keyFile}
	if _, err := c.reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// reload reads the files again and swaps the new certificate in; it
// returns the new leaf, for the log.
func (c *certificate) reload() (*x509.Certificate, error) {
	pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate %s with key %s: %w", c.certFile, c.keyFile, err)
	}
	leaf := pair.Leaf
	if leaf == nil {
		return nil, errors.New("TLS certificate: no leaf certificate") // Go 1.23+ parses the leaf
	}
	c.cur.Store(&pair)
	return leaf, nil
}

// get is tls.Config.GetCertificate: the certificate of the moment.
func (c *certificate) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.cur.Load(), nil
}

// tlsListener wraps ln (raw connections, timed by the listeners under it)
// in TLS with the certificate c. HTTP/1.1 only: fasthttp speaks nothing
// else, and a client offered h2 would fail.
func tlsListener(ln net.Listener, c *certificate) net.Listener {
	return tls.NewListener(ln, &tls.Config{
		GetCertificate: c.get,
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"http/1.1"},
	})
}

// certExpiry describes when a certificate ends, for the log.
func certExpiry(leaf *x509.Certificate) string {
	return leaf.NotAfter.UTC().Format(time.RFC3339)
}
