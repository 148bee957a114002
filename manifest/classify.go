package manifest

import "strings"

// IsHashedName reports whether the last path segment name carries a content
// hash in one of the shapes bundlers emit by default:
//
//   - Vite/Rollup/Rolldown: name-[hash].ext, 8 characters of base64url
//     (index-BRh8Y3xK.js, older Vite: index-4ed993c7.js);
//   - webpack/CRA: name.[contenthash].ext, 8 to 32 hex digits, optionally
//     followed by .chunk (main.3f2a9c1b.js, 787.a1b2c3d4.chunk.js);
//   - esbuild: name-[HASH].ext, 8 characters of base32 (chunk-7XQ2KJ3M.js).
//
// Up to two extensions are stripped first, so source maps and precompressed
// names (index-BRh8Y3xK.js.map) keep their classification.
//
// A hash must contain a digit or an upper-case letter: "app-settings.json"
// and "jquery.deadbeef.js" are ordinary names that happen to have the
// length of a hash, and wrongly marking a file immutable for a year is far
// worse than missing one (files a build manifest lists are hashed anyway).
func IsHashedName(name string) bool {
	stem := name
	for range 2 {
		dot := strings.LastIndexByte(stem, '.')
		if dot <= 0 || !isExt(stem[dot+1:]) {
			return false
		}
		stem = stem[:dot]
		if hasDashHash(stem) || hasDotHexHash(strings.TrimSuffix(stem, ".chunk")) {
			return true
		}
	}
	return false
}

func isExt(s string) bool {
	if s == "" || len(s) > 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) {
			return false
		}
	}
	return true
}

// hasDashHash matches "...-XXXXXXXX" (Vite base64url, esbuild base32).
func hasDashHash(stem string) bool {
	const n = 8
	if len(stem) < n+2 || stem[len(stem)-n-1] != '-' {
		return false
	}
	h := stem[len(stem)-n:]
	strong := false
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case isDigit(c) || (c >= 'A' && c <= 'Z'):
			strong = true
		case (c >= 'a' && c <= 'z') || c == '-' || c == '_':
		default:
			return false
		}
	}
	return strong
}

// hasDotHexHash matches "name.<8..32 hex>" (webpack, CRA).
func hasDotHexHash(stem string) bool {
	dot := strings.LastIndexByte(stem, '.')
	if dot <= 0 {
		return false
	}
	h := stem[dot+1:]
	if len(h) < 8 || len(h) > 32 {
		return false
	}
	digit := false
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case isDigit(c):
			digit = true
		case c >= 'a' && c <= 'f':
		default:
			return false
		}
	}
	return digit
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlnum(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// ValidVersion reports whether name is a build version: the name of a
// sub-folder of the builds dir that holds a build. Names starting with "."
// or "_" are the server's own or the user's scratch space.
func ValidVersion(name string) bool {
	if name == "" || len(name) > 128 || !isAlnum(name[0]) {
		return false
	}
	for i := 1; i < len(name); i++ {
		c := name[i]
		if !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}
