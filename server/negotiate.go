package main

import (
	"bytes"

	"github.com/skewless/skewless/manifest"
)

// negotiate picks the content coding for an Accept-Encoding header value
// (RFC 9110 §12.5.3) among the variants a file has: the highest q-value
// wins; on a tie br beats gzip beats identity. Codings not named take the
// q-value of "*" when present, and identity is acceptable unless refused.
// When everything is refused, identity is sent anyway rather than a 406:
// that is what browsers and CDNs expect of an origin.
func negotiate(header []byte, haveBr, haveGz bool) manifest.Encoding {
	if len(header) == 0 || (!haveBr && !haveGz) {
		return manifest.Identity
	}
	qBr, qGz, qID, qStar := -1, -1, -1, -1 // thousandths; -1: not named
	for len(header) > 0 {
		var item []byte
		if i := bytes.IndexByte(header, ','); i >= 0 {
			item, header = header[:i], header[i+1:]
		} else {
			item, header = header, nil
		}
		coding, q := parseCoding(item)
		switch {
		case asciiEqualFold(coding, "br"):
			qBr = q
		case asciiEqualFold(coding, "gzip"), asciiEqualFold(coding, "x-gzip"):
			qGz = q
		case asciiEqualFold(coding, "identity"):
			qID = q
		case string(coding) == "*":
			qStar = q
		}
	}
	qBr, qGz = orDefault(qBr, qStar, 0), orDefault(qGz, qStar, 0)
	// Identity is acceptable unless refused (RFC 9110 §12.5.3), but as the
	// least preferred choice: "gzip;q=0.5" still gets gzip.
	qID = orDefault(qID, qStar, identityDefaultQ)
	best, bestQ := manifest.Identity, qID
	if haveGz && qGz > 0 && qGz >= bestQ {
		best, bestQ = manifest.Gzip, qGz
	}
	if haveBr && qBr > 0 && qBr >= bestQ {
		best = manifest.Brotli
	}
	return best
}

// identityDefaultQ is identity's weight (in thousandths) when the header
// does not name it: the smallest that still accepts it.
const identityDefaultQ = 1

func orDefault(q, star, def int) int {
	if q >= 0 {
		return q
	}
	if star >= 0 {
		return star
	}
	return def
}

// parseCoding splits "gzip;q=0.8" into the coding and its q-value in
// thousandths (1000 when absent; 0 when malformed, which refuses it).
func parseCoding(item []byte) ([]byte, int) {
	coding, params, _ := bytes.Cut(item, []byte(";"))
	coding = bytes.TrimSpace(coding)
	q := 1000
	for len(params) > 0 {
		var p []byte
		p, params, _ = bytes.Cut(params, []byte(";"))
		p = bytes.TrimSpace(p)
		if len(p) >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=' {
			q = parseQ(bytes.TrimSpace(p[2:]))
		}
	}
	return coding, q
}

// parseQ parses a qvalue: "0", "1", "0.5", "1.000" (RFC 9110 §12.4.2).
func parseQ(b []byte) int {
	if len(b) == 0 || (b[0] != '0' && b[0] != '1') {
		return 0
	}
	q := int(b[0]-'0') * 1000
	if len(b) == 1 {
		return q
	}
	if b[1] != '.' || len(b) > 5 {
		return 0
	}
	scale := 100
	for _, c := range b[2:] {
		if c < '0' || c > '9' {
			return 0
		}
		q += int(c-'0') * scale
		scale /= 10
	}
	if q > 1000 {
		return 0
	}
	return q
}
