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
// Wrongly marking a file immutable for a year is far worse than missing a
// hash (files a build manifest lists are hashed anyway), so a hash must mix
// letters and digits, or be upper-case letters only (esbuild's base32):
// "app-settings.json", "Inter-SemiBold.woff2", "photo-12345678.jpg" and
// "jquery.deadbeef.js" are ordinary names, and so are image sizes
// ("og-image-1200x630.png"). A quarter of Vite's base64url hashes have no
// digit: HashedPath also takes mixed-case ones inside an assets/ folder,
// where Vite writes its output.
func IsHashedName(name string) bool {
	return hashedName(name, false)
}

// HashedPath is IsHashedName for a slash-separated path relative to the
// build root: under a folder named "assets", a Vite-shaped hash of letters
// only (mixed case, as base64url almost surely is) counts too.
func HashedPath(rel string) bool {
	dir, name := "", rel
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		dir, name = rel[:i], rel[i+1:]
	}
	inAssets := dir == "assets" || strings.HasPrefix(dir, "assets/") || strings.HasSuffix(dir, "/assets") || strings.Contains(dir, "/assets/")
	return hashedName(name, inAssets)
}

func hashedName(name string, lettersOK bool) bool {
	stem := name
	for range 2 {
		dot := strings.LastIndexByte(stem, '.')
		if dot <= 0 || !isExt(stem[dot+1:]) {
			return false
		}
		stem = stem[:dot]
		if hasDashHash(stem, lettersOK) || hasDotHexHash(strings.TrimSuffix(stem, ".chunk")) {
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

// hasDashHash matches "...-XXXXXXXX" (Vite base64url, esbuild base32): a
// mix of letters and digits, or upper-case letters only (base32), or with
// lettersOK, a mix of upper and lower case.
func hasDashHash(stem string, lettersOK bool) bool {
	const n = 8
	if len(stem) < n+2 || stem[len(stem)-n-1] != '-' {
		return false
	}
	h := stem[len(stem)-n:]
	var digit, upper, lower bool
	for i := 0; i < len(h); i++ {
		switch c := h[i]; {
		case isDigit(c):
			digit = true
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= 'a' && c <= 'z':
			lower = true
		case c == '-' || c == '_':
		default:
			return false
		}
	}
	if isDimensions(h) {
		return false
	}
	switch {
	case digit:
		return upper || lower
	case upper && !lower:
		return true // esbuild's base32 without a digit (one hash in five)
	}
	return lettersOK && upper && lower
}

// isDimensions matches image sizes such as "1200x630".
func isDimensions(h string) bool {
	w, rest, ok := strings.Cut(h, "x")
	return ok && w != "" && rest != "" && allDigits(w) && allDigits(rest)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
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
