package manifest

import "strings"

// The shapes below tell a name a person wrote from a hash a bundler wrote,
// by the evidence a single token carries: people write words, numbers at
// the ends of words, and sizes; hashes put digits anywhere, switch case
// mid-word, and string consonants together.

// humanShaped reports whether every piece of t (split at '-' and '_') is
// what people write: digits, words (lower-case or Capitalised, CamelCase
// runs of them) with a number before or after (MyLogo12, v2, 2x, 1200x630,
// iPhone12), or capitals (DOWNLOAD, ISO27001). Capitals with digits that
// are all 2-7 are left to be judged as esbuild's base32 (HAM52357).
func humanShaped(t string) bool {
	for _, p := range strings.FieldsFunc(t, func(r rune) bool { return r == '-' || r == '_' }) {
		if !humanPiece(p) && !capitalsPiece(p) {
			return false
		}
	}
	return true
}

func humanPiece(p string) bool {
	i := 0
	for i < len(p) && isDigit(p[i]) {
		i++
	}
	lead := i
	for i < len(p) {
		j := i
		if isUpper(p[j]) {
			j++
		}
		k := j
		for k < len(p) && isLower(p[k]) {
			k++
		}
		if k == j {
			break
		}
		i = k
	}
	if i == lead && i < len(p) {
		return false // neither digits only nor a word after them
	}
	for i < len(p) && isDigit(p[i]) {
		i++
	}
	return i == len(p)
}

// capitalsPiece matches capitals with a number after them (DOWNLOAD,
// ISO27001, HTML5) or before them (4K, 3D), unless every digit is a base32
// digit (2-7): then it may be esbuild's hash (HAM52357).
func capitalsPiece(p string) bool {
	i := 0
	for i < len(p) && isDigit(p[i]) {
		i++
	}
	lead := i
	for i < len(p) && isUpper(p[i]) {
		i++
	}
	letters := i - lead
	trail := i
	for i < len(p) && isDigit(p[i]) {
		i++
	}
	if letters == 0 || i != len(p) || (lead > 0 && i > trail) {
		return false
	}
	for j := 0; j < len(p); j++ {
		if isDigit(p[j]) && (p[j] < '2' || p[j] > '7') {
			return true
		}
	}
	return lead == 0 && trail == len(p) // capitals only
}

// isWords reports whether a token of letters (and '-' '_') reads as
// words. Outside immutableFolders: human-shaped and pronounceable
// (SemiBold, Settings, DOWNLOAD; not DPfrhiVb or ZIPWLCQN). Inside them,
// where only a bundler writes, each piece must be one pronounceable word
// (settings, Settings, SETTINGS), so CamelCase hashes such as CydqaGqh
// count.
func isWords(t string, folder bool) bool {
	if !folder {
		return humanShaped(t) && pronounceable(t)
	}
	for _, p := range strings.FieldsFunc(t, func(r rune) bool { return r == '-' || r == '_' }) {
		if !oneWord(p) || !pronounceable(p) {
			return false
		}
	}
	return true
}

// oneWord matches [a-z]+, [A-Z][a-z]+ or [A-Z]+.
func oneWord(p string) bool {
	upper := 0
	for i := 0; i < len(p); i++ {
		switch {
		case isUpper(p[i]):
			upper++
		case !isLower(p[i]):
			return false
		}
	}
	return upper == 0 || upper == len(p) || (upper == 1 && isUpper(p[0]))
}

// pronounceable reports whether no CamelCase word of t has four
// consonants in a row ('y' counted as a vowel, so "Symphony" passes). Of
// random letters most have such a run; of words few do ("LightBox" is
// two words, "Light" and "Box").
func pronounceable(t string) bool {
	run := 0
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !isUpper(c) && !isLower(c) || (i > 0 && isUpper(c) && isLower(t[i-1])) {
			run = 0 // a new word
		}
		switch lc := c | 0x20; {
		case !isUpper(c) && !isLower(c):
		case strings.IndexByte("aeiouy", lc) >= 0:
			run = 0
		default:
			if run++; run >= 4 {
				return false
			}
		}
	}
	return true
}

// hasUUID finds 8-4-4-4-12 hex digits in s (any case).
func hasUUID(s string) bool {
	const n = 36
	for i := 0; i+n <= len(s); i++ {
		if isUUID(s[i : i+n]) {
			return true
		}
	}
	return false
}

func isUUID(s string) bool {
	for i := 0; i < len(s); i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if c := s[i] | 0x20; !isDigit(s[i]) && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

// isDate matches YYYYMMDD from 1970 to 2099: a date in a name is a
// version, not a hash of eight decimal digits.
func isDate(t string) bool {
	if len(t) != 8 {
		return false
	}
	y := atoi(t[:4])
	m := atoi(t[4:6])
	d := atoi(t[6:])
	return y >= 1970 && y <= 2099 && m >= 1 && m <= 12 && d >= 1 && d <= 31
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// isBase32 matches esbuild's hash alphabet, A-Z and 2-7.
func isBase32(t string) bool {
	for i := 0; i < len(t); i++ {
		if c := t[i]; !isUpper(c) && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
