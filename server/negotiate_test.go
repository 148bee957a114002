package main

// negotiate implements Accept-Encoding (RFC 9110 §12.5.3) over the variants
// a file has: the highest q wins, ties go br > gzip > identity, codings not
// named take the q of "*", identity is acceptable unless refused, and when
// everything is refused identity is sent anyway (no 406 from an origin).

import (
	"testing"

	"github.com/skewless/skewless/manifest"
)

const (
	encID = manifest.Identity
	encBr = manifest.Brotli
	encGz = manifest.Gzip
)

var negotiateTests = []struct {
	name   string
	header string
	br, gz bool // variants the file has
	want   manifest.Encoding
}{
	{"no header", "", true, true, encID},
	{"gzip", "gzip", true, true, encGz},
	{"br", "br", true, true, encBr},
	{"browser list", "gzip, deflate, br, zstd", true, true, encBr},
	{"gzip and br tie: br", "gzip, br", true, true, encBr},
	{"br and gzip tie, other order: br", "br, gzip", true, true, encBr},
	{"equal q: br", "gzip;q=1, br;q=1.0", true, true, encBr},
	{"br preferred less", "br;q=0.5, gzip", true, true, encGz},
	{"gzip preferred by q", "br;q=0.7, gzip;q=0.9", true, true, encGz},
	{"star", "*", true, true, encBr},
	{"star refused: identity anyway", "*;q=0", true, true, encID},
	{"star refused but gzip named", "gzip, *;q=0", true, true, encGz},
	{"star gives br its q", "gzip;q=0.5, *", true, true, encBr},
	{"identity refused, nothing else named", "identity;q=0", true, true, encID},
	{"identity refused, gzip named", "gzip, identity;q=0", true, true, encGz},
	{"gzip refused", "gzip;q=0", true, true, encID},
	{"gzip refused, star", "gzip;q=0, *", true, true, encBr},
	{"gzip refused, star, only gzip available", "gzip;q=0, *", false, true, encID},
	// Identity not named is acceptable but least preferred (q=0.001):
	// any coding the client rates above 0 is preferred to it.
	{"gzip rated below 1", "gzip;q=0.5", true, true, encGz},
	{"both rated below 1", "gzip;q=0.8, br;q=0.8", true, true, encBr},
	{"lowest q still beats unnamed identity", "gzip;q=0.001", true, true, encGz},
	{"identity rated below gzip", "gzip;q=0.5, identity;q=0.1", true, true, encGz},
	{"identity preferred over br", "br;q=0.5, identity;q=0.8", true, true, encID},
	{"upper-case GZIP", "GZIP", true, true, encGz},
	{"upper-case BR and Q", "GZIP;Q=0.9, Br;q=1", true, true, encBr},
	{"x-gzip", "x-gzip", true, true, encGz},
	{"whitespace", "  gzip ;  q=1 ,\tbr ; q=0.8  ", true, true, encGz},
	{"empty members", ", ,gzip,,", true, true, encGz},
	{"malformed q refuses", "gzip;q=abc", true, true, encID},
	{"malformed q refuses only its coding", "br;q=abc, gzip", true, true, encGz},
	{"q above 1 refuses", "gzip;q=1.5", true, true, encID},
	{"q 1.001 refuses", "br;q=1.001, gzip", true, true, encGz},
	{"q with four decimals refuses", "gzip;q=0.1234", true, true, encID},
	{"q with three decimals", "gzip;q=0.123, br;q=0.122, identity;q=0", true, true, encGz},
	{"smallest q accepts", "br;q=0.001, identity;q=0", true, true, encBr},
	{"q 1.000", "br;q=1.000, gzip", true, true, encBr},
	{"q 0.", "gzip;q=0.", true, true, encID},
	{"q without digits", "gzip;q=.5", true, true, encID},
	{"empty q", "gzip;q=", true, true, encID},
	{"other parameters ignored", "gzip;level=9", true, true, encGz},
	{"later duplicate wins", "gzip;q=0, gzip", true, true, encGz},
	{"only gzip available", "br, gzip", false, true, encGz},
	{"only gzip available, br asked", "br", false, true, encID},
	{"only br available", "gzip, br", true, false, encBr},
	{"only br available, rated low", "gzip, br;q=0.1", true, false, encBr},
	{"none available", "br, gzip", false, false, encID},
	{"zstd not available", "zstd", true, true, encID},
	{"zstd first, then gzip", "zstd, gzip;q=0.8", true, true, encGz},
	{"zstd first, then br and gzip", "zstd, br;q=0.9, gzip;q=0.8", true, true, encBr},
	{"deflate only", "deflate", true, true, encID},
	{"coding with prefix is not gzip", "xgzip, gzipx", true, true, encID},
	{"unknown coding only", "compress", true, true, encID},
}

func TestNegotiate(t *testing.T) {
	for _, tt := range negotiateTests {
		t.Run(tt.name, func(t *testing.T) {
			if got := negotiate([]byte(tt.header), tt.br, tt.gz); got != tt.want {
				t.Errorf("negotiate(%q, br=%v, gzip=%v) = %s, want %s", tt.header, tt.br, tt.gz, got.Token(), tt.want.Token())
			}
		})
	}
}

var parseQTests = []struct {
	in   string
	want int
}{
	{"1", 1000}, {"0", 0}, {"1.", 1000}, {"1.0", 1000}, {"1.000", 1000},
	{"0.5", 500}, {"0.05", 50}, {"0.005", 5}, {"0.999", 999},
	{"1.001", 0}, {"2", 0}, {"0.1234", 0}, {"abc", 0}, {"", 0}, {".5", 0}, {"0,5", 0}, {"-1", 0}, {"0.5x", 0},
}

func TestParseQ(t *testing.T) {
	for _, tt := range parseQTests {
		if got := parseQ([]byte(tt.in)); got != tt.want {
			t.Errorf("parseQ(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
