package main

// The client address of access lines, as nginx's realip module finds it
// with real_ip_recursive on: the peer, unless the peer is a trusted proxy
// (--trust-proxy); then the right-most X-Forwarded-For address that is not
// a trusted proxy, over every line of the field.

import (
	"net/netip"
	"strings"
	"testing"
)

func mustPrefixes(t *testing.T, list string) []netip.Prefix {
	t.Helper()
	var l prefixList
	if err := l.Set(list); err != nil {
		t.Fatal(err)
	}
	return l.prefixes
}

var realClientTests = []struct {
	name    string
	peer    string
	xff     string // field lines separated by "|"
	trusted string
	want    string
}{
	{"no proxy trusted", "203.0.113.9", "198.51.100.1", "", "203.0.113.9"},
	{"peer not trusted", "203.0.113.9", "198.51.100.1", "10.0.0.0/8", "203.0.113.9"},
	{"trusted peer, one address", "10.0.0.2", "198.51.100.1", "10.0.0.0/8", "198.51.100.1"},
	{"right-most untrusted", "10.0.0.2", "192.0.2.66, 198.51.100.1, 10.0.0.7", "10.0.0.0/8", "198.51.100.1"},
	{"a client's forged entry is left of the truth", "10.0.0.2", "1.2.3.4, 198.51.100.1", "10.0.0.0/8", "198.51.100.1"},
	{"all trusted: the left-most", "10.0.0.2", "10.0.0.9, 10.0.0.7", "10.0.0.0/8", "10.0.0.9"},
	{"over several lines", "10.0.0.2", "198.51.100.1|10.0.0.7", "10.0.0.0/8", "198.51.100.1"},
	{"lines right to left", "10.0.0.2", "192.0.2.66|198.51.100.1, 10.1.1.1|10.0.0.7", "10.0.0.0/8", "198.51.100.1"},
	{"single trusted address", "127.0.0.1", "198.51.100.1", "127.0.0.1", "198.51.100.1"},
	{"several prefixes", "127.0.0.1", "198.51.100.1, 10.0.0.3", "127.0.0.1,10.0.0.0/8", "198.51.100.1"},
	{"with a port", "10.0.0.2", "198.51.100.1:51000", "10.0.0.0/8", "198.51.100.1"},
	{"ipv6", "10.0.0.2", "2001:db8::7", "10.0.0.0/8", "2001:db8::7"},
	{"ipv6 with a port", "10.0.0.2", "[2001:db8::7]:443", "10.0.0.0/8", "2001:db8::7"},
	{"ipv6 in brackets", "10.0.0.2", "[2001:db8::7]", "10.0.0.0/8", "2001:db8::7"},
	{"ipv4-mapped", "10.0.0.2", "::ffff:198.51.100.1", "10.0.0.0/8", "198.51.100.1"},
	{"trusted ipv6 proxy", "2001:db8:1::5", "198.51.100.1", "2001:db8:1::/48", "198.51.100.1"},
	{"garbage before an untrusted address", "10.0.0.2", "garbage, 198.51.100.1", "10.0.0.0/8", "198.51.100.1"},
	{"garbage from the proxy: the peer", "10.0.0.2", "198.51.100.1, unknown", "10.0.0.0/8", "10.0.0.2"},
	{"empty entries", "10.0.0.2", " , 198.51.100.1 ,, ", "10.0.0.0/8", "198.51.100.1"},
	{"no field", "10.0.0.2", "", "10.0.0.0/8", "10.0.0.2"},
}

func TestRealClient(t *testing.T) {
	for _, tt := range realClientTests {
		t.Run(tt.name, func(t *testing.T) {
			var trusted []netip.Prefix
			if tt.trusted != "" {
				trusted = mustPrefixes(t, tt.trusted)
			}
			got := realClient(netip.MustParseAddr(tt.peer), lines(tt.xff), trusted)
			if got != netip.MustParseAddr(tt.want) {
				t.Errorf("realClient(%s, %q, %s) = %s, want %s", tt.peer, tt.xff, tt.trusted, got, tt.want)
			}
		})
	}
}

// FuzzRealClient: never panics; the client is the peer or an address
// one of the field's entries spells.
func FuzzRealClient(f *testing.F) {
	for _, tt := range realClientTests {
		f.Add(tt.xff)
	}
	peer := netip.MustParseAddr("10.0.0.2")
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	f.Fuzz(func(t *testing.T, xff string) {
		got := realClient(peer, lines(xff), trusted)
		if got == peer {
			return
		}
		for _, line := range lines(xff) {
			for item := range strings.SplitSeq(string(line), ",") {
				if a, ok := parseForwardedAddr([]byte(strings.TrimSpace(item))); ok && a == got {
					return
				}
			}
		}
		t.Fatalf("realClient(%q) = %s: neither the peer nor an entry", xff, got)
	})
}

var prefixListTests = []struct {
	in   string
	want string // "" for an error
}{
	{"10.0.0.0/8", "10.0.0.0/8"},
	{"10.1.2.3/8", "10.0.0.0/8"},
	{"127.0.0.1", "127.0.0.1/32"},
	{"10.0.0.0/8, 192.168.0.0/16", "10.0.0.0/8,192.168.0.0/16"},
	{"2001:db8::/32,::1", "2001:db8::/32,::1/128"},
	{"::ffff:10.0.0.0/104", "10.0.0.0/8"},
	{"10.0.0.0/33", ""},
	{"example.com", ""},
	{"10.0.0.0/8,nope", ""},
}

func TestTrustProxyFlag(t *testing.T) {
	for _, tt := range prefixListTests {
		var l prefixList
		err := l.Set(tt.in)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("--trust-proxy %q: accepted as %s", tt.in, l.String())
		case tt.want != "" && (err != nil || l.String() != tt.want):
			t.Errorf("--trust-proxy %q: %s, %v; want %s", tt.in, l.String(), err, tt.want)
		}
	}
}

// TestServeFlagsFromEnvironment: --max-header-bytes and --trust-proxy
// come from SKEWLESS_MAX_HEADER_BYTES and SKEWLESS_TRUST_PROXY; the
// command line wins, also over a repeatable flag's environment value.
func TestServeFlagsFromEnvironment(t *testing.T) {
	t.Setenv("SKEWLESS_MAX_HEADER_BYTES", "65536")
	t.Setenv("SKEWLESS_TRUST_PROXY", "10.0.0.0/8,127.0.0.1")
	var cfg serveConfig
	if _, err := parseFlags(serveFlags(&cfg), nil); err != nil {
		t.Fatal(err)
	}
	if cfg.MaxHeaderBytes != 65536 || cfg.TrustProxy.String() != "10.0.0.0/8,127.0.0.1/32" {
		t.Errorf("from the environment: %d, %s", cfg.MaxHeaderBytes, cfg.TrustProxy.String())
	}
	cfg = serveConfig{}
	if _, err := parseFlags(serveFlags(&cfg), []string{"--trust-proxy", "192.168.0.0/16", "--trust-proxy", "::1", "--max-header-bytes", "8192"}); err != nil {
		t.Fatal(err)
	}
	if cfg.MaxHeaderBytes != 8192 || cfg.TrustProxy.String() != "192.168.0.0/16,::1/128" {
		t.Errorf("command line over the environment: %d, %s", cfg.MaxHeaderBytes, cfg.TrustProxy.String())
	}
	for _, bad := range []int{0, 1023, 2 << 20} {
		c := cfg
		c.MaxHeaderBytes = bad
		if err := c.validate(); err == nil || !strings.Contains(err.Error(), "--max-header-bytes") {
			t.Errorf("--max-header-bytes %d: %v", bad, err)
		}
	}
}

// TestAccessLineClientBehindProxy: with --trust-proxy, the access line
// names the client the trusted proxy reports; without, the peer.
func TestAccessLineClientBehindProxy(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		trust, want string
	}{
		{"", "127.0.0.1"},
		{"127.0.0.1", "10.0.0.7"},
		{"127.0.0.0/8,10.0.0.0/8", "198.51.100.1"},
		{"10.0.0.0/8", "127.0.0.1"},
	} {
		cfg := testConfig(t, buildsWith(t, fixtures, "v1"))
		cfg.TrustProxy = prefixList{prefixes: nil}
		if tt.trust != "" {
			cfg.TrustProxy.prefixes = mustPrefixes(t, tt.trust)
		}
		ts := startServer(t, cfg)
		ts.get(t, "GET", "/about", "X-Forwarded-For: 192.0.2.66, 198.51.100.1, 10.0.0.7")
		lines := decodeAccessLines(t, ts.AccessLines())
		if len(lines) != 1 || lines[0].Client != tt.want {
			t.Errorf("--trust-proxy %q: access lines %+v; want client %s", tt.trust, lines, tt.want)
		}
	}
}
